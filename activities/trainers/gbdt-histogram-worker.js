// Helper thread of HistogramBuilder (gbdt-histograms.ts): builds the second half of each
// histogram on request. Plain JavaScript for the reason given in gbdt-histogram-kernel.js.
import { parentPort, workerData } from 'node:worker_threads';
import { accumulateHistogram } from './gbdt-histogram-kernel.js';

const { control, partial, features, bins, grad, hess, index } = workerData;
parentPort.postMessage('ready');
let seen = 0;
for (;;) {
  Atomics.wait(control, 0, seen);
  const seq = Atomics.load(control, 0);
  if (seq < 0) break;
  seen = seq;
  accumulateHistogram(partial, index, control[2], control[3], bins, features, grad, hess);
  Atomics.store(control, 1, seq);
  Atomics.notify(control, 1);
}
