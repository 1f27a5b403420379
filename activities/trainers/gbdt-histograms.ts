import { Worker } from 'node:worker_threads';
import { accumulateHistogram, HISTOGRAM_STRIDE } from './gbdt-histogram-kernel.js';

export { HISTOGRAM_STRIDE } from './gbdt-histogram-kernel.js';

export interface SharedTrainingArrays {
  bins: Uint8Array;
  grad: Float64Array;
  hess: Float64Array;
  index: Uint32Array;
}

/** Allocates the arrays a helper thread reads, on SharedArrayBuffers. */
export function sharedTrainingArrays(rows: number, features: number): SharedTrainingArrays {
  return {
    bins: new Uint8Array(new SharedArrayBuffer(rows * features)),
    grad: new Float64Array(new SharedArrayBuffer(rows * 8)),
    hess: new Float64Array(new SharedArrayBuffer(rows * 8)),
    index: new Uint32Array(new SharedArrayBuffer(rows * 4)),
  };
}

// control slots
const REQUEST = 0;
const DONE = 1;
const START = 2;
const END = 3;

/**
 * Builds histograms as two halves of the rows: the first on this thread, the second on a helper
 * thread when `threads` is 2 (or also here when it is 1). The halves are always summed in the
 * same order, so the model does not depend on the thread count. Threads meet through Atomics on
 * shared memory, which keeps training synchronous between trees.
 */
export class HistogramBuilder {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * 4));
  private readonly partial: Float64Array;
  private worker: Worker | undefined;
  private sequence = 0;

  private constructor(
    private readonly arrays: SharedTrainingArrays,
    private readonly features: number,
    private readonly minRowsForHelper: number,
  ) {
    this.partial = new Float64Array(new SharedArrayBuffer(features * HISTOGRAM_STRIDE * 8));
  }

  /**
   * With `threads` 2, starts the helper and waits (up to 10 s, event loop free: a worker cannot
   * boot while this thread blocks) until it runs; without it the work stays on this thread.
   * `minRowsForHelper`: below this many rows both halves are built here, as waking the helper
   * would cost more.
   */
  static async create(arrays: SharedTrainingArrays, features: number, threads: 1 | 2, minRowsForHelper = 50_000): Promise<HistogramBuilder> {
    const builder = new HistogramBuilder(arrays, features, minRowsForHelper);
    if (threads === 1 || arrays.index.length < minRowsForHelper) return builder; // the helper would never be woken
    const worker = new Worker(new URL('./gbdt-histogram-worker.js', import.meta.url), {
      workerData: { control: builder.control, partial: builder.partial, features, ...arrays },
    });
    let timer: NodeJS.Timeout | undefined;
    const started = await new Promise<boolean>((resolve) => {
      worker.once('message', () => resolve(true));
      worker.on('error', () => resolve(false));
      timer = setTimeout(() => resolve(false), 10_000);
    });
    clearTimeout(timer);
    if (started) {
      worker.unref();
      builder.worker = worker;
    } else {
      await worker.terminate();
    }
    return builder;
  }

  /** hist ← histogram of rows index[start..end). */
  build(hist: Float64Array, start: number, end: number): void {
    const { bins, grad, hess, index } = this.arrays;
    const mid = start + ((end - start) >> 1);
    hist.fill(0);
    this.partial.fill(0);
    const helper = this.worker !== undefined && end - start >= this.minRowsForHelper;
    if (helper) {
      this.control[START] = mid;
      this.control[END] = end;
      const seq = ++this.sequence;
      Atomics.store(this.control, REQUEST, seq);
      Atomics.notify(this.control, REQUEST);
      accumulateHistogram(hist, index, start, mid, bins, this.features, grad, hess);
      for (let done = Atomics.load(this.control, DONE); done !== seq; done = Atomics.load(this.control, DONE)) {
        Atomics.wait(this.control, DONE, done);
      }
    } else {
      accumulateHistogram(hist, index, start, mid, bins, this.features, grad, hess);
      accumulateHistogram(this.partial, index, mid, end, bins, this.features, grad, hess);
    }
    const partial = this.partial;
    for (let i = 0; i < hist.length; i++) hist[i]! += partial[i]!;
  }

  /** 2 when the helper thread runs, 1 otherwise. */
  get threadsInUse(): 1 | 2 {
    return this.worker ? 2 : 1;
  }

  async close(): Promise<void> {
    if (!this.worker) return;
    Atomics.store(this.control, REQUEST, -1);
    Atomics.notify(this.control, REQUEST);
    await this.worker.terminate();
    this.worker = undefined;
  }
}
