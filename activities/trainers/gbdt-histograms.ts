import { Worker } from 'node:worker_threads';

/** Per feature: 256 bins × (gradient sum, hessian sum, row count). */
export const HISTOGRAM_STRIDE = 256 * 3;

/** Adds rows index[start..end) into `hist` (not cleared): the hot loop of GBDT training. */
export function accumulateHistogram(
  hist: Float64Array,
  index: Uint32Array,
  start: number,
  end: number,
  bins: Uint8Array,
  features: number,
  grad: Float64Array,
  hess: Float64Array,
): void {
  for (let k = start; k < end; k++) {
    const r = index[k]!;
    const g = grad[r]!;
    const h = hess[r]!;
    const base = r * features;
    for (let j = 0, offset = 0; j < features; j++, offset += HISTOGRAM_STRIDE) {
      const o = offset + bins[base + j]! * 3;
      hist[o]! += g;
      hist[o + 1]! += h;
      hist[o + 2]!++;
    }
  }
}

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
const READY = 4;

/**
 * Builds histograms as two halves of the rows: the first on this thread, the second on a helper
 * thread when `threads` is 2 (or also here when it is 1). The halves are always summed in the
 * same order, so the model does not depend on the thread count. Threads meet through Atomics on
 * shared memory, which keeps training synchronous between trees.
 */
export class HistogramBuilder {
  private readonly control = new Int32Array(new SharedArrayBuffer(5 * 4));
  private readonly partial: Float64Array;
  private worker: Worker | undefined;
  private sequence = 0;
  private ready = false;

  constructor(
    private readonly arrays: SharedTrainingArrays,
    private readonly features: number,
    threads: 1 | 2,
    /** Below this many rows both halves are built here; waking the helper would cost more. */
    private readonly minRowsForHelper = 50_000,
  ) {
    this.partial = new Float64Array(new SharedArrayBuffer(features * HISTOGRAM_STRIDE * 8));
    if (threads === 2) {
      // plumb runs TypeScript through tsx, whose loader a worker does not inherit by itself
      this.worker = new Worker(new URL('./gbdt-histogram-worker.ts', import.meta.url), {
        workerData: { control: this.control, partial: this.partial, features, ...arrays },
        execArgv: ['--import', import.meta.resolve('tsx')],
      });
      // a helper that fails to start is replaced by this thread (see helperReady)
      this.worker.on('error', () => {});
      this.worker.unref();
    }
  }

  /** hist ← histogram of rows index[start..end). */
  build(hist: Float64Array, start: number, end: number): void {
    const { bins, grad, hess, index } = this.arrays;
    const mid = start + ((end - start) >> 1);
    hist.fill(0);
    this.partial.fill(0);
    const helper = end - start >= this.minRowsForHelper && this.helperReady();
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

  /** 2 once the helper thread has taken part, 1 otherwise. */
  get threadsInUse(): 1 | 2 {
    return this.ready ? 2 : 1;
  }

  async close(): Promise<void> {
    if (!this.worker) return;
    Atomics.store(this.control, REQUEST, -1);
    Atomics.notify(this.control, REQUEST);
    await this.worker.terminate();
    this.worker = undefined;
  }

  /** Waits (once, up to 10 s) for the helper to start; without it the work stays on this thread. */
  private helperReady(): boolean {
    if (this.ready || !this.worker) return this.ready;
    Atomics.wait(this.control, READY, 0, 10_000);
    this.ready = Atomics.load(this.control, READY) === 1;
    if (!this.ready) {
      void this.worker.terminate();
      this.worker = undefined;
    }
    return this.ready;
  }
}
