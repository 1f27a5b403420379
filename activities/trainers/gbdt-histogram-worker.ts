// Helper thread of HistogramBuilder: builds the second half of each histogram on request.
import { workerData } from 'node:worker_threads';
import { accumulateHistogram } from './gbdt-histograms.js';

const { control, partial, features, bins, grad, hess, index } = workerData as {
  control: Int32Array;
  partial: Float64Array;
  features: number;
  bins: Uint8Array;
  grad: Float64Array;
  hess: Float64Array;
  index: Uint32Array;
};

Atomics.store(control, 4, 1);
Atomics.notify(control, 4);
let seen = 0;
for (;;) {
  Atomics.wait(control, 0, seen);
  const seq = Atomics.load(control, 0);
  if (seq < 0) break;
  seen = seq;
  accumulateHistogram(partial, index, control[2]!, control[3]!, bins, features, grad, hess);
  Atomics.store(control, 1, seq);
  Atomics.notify(control, 1);
}
