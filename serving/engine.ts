import { Worker } from 'node:worker_threads';
import { PlumbError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { BatchQueue } from './batch-queue.js';
import type { RunPart, ThreadRequest, ThreadResponse } from './inference-thread.js';
import { type Feeds, type OutputTensors, concatFeeds } from './tensors.js';

export interface EngineOptions {
  threads: number;
  intraOpThreads: number;
  maxBatchRows: number;
  maxQueueDelayMs: number;
  maxQueueLength: number;
  log: Logger;
  /** Called after every batch with its row count, for metrics. */
  onBatch?: (rows: number) => void;
}

/** A model's failure while scoring (not the caller's fault): a 500 unless the router falls back. */
export class InferenceFailure extends Error {
  override readonly name = 'InferenceFailure';
}

interface Pending {
  rows: number;
  enqueuedAt: number;
  feeds: Feeds;
  outputs: string[];
  resolve: (outputs: OutputTensors) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  /** The version key of the batch running on the thread, if any. */
  running: string | undefined;
  calls: Map<number, { resolve: (r: ThreadResponse) => void; reject: (err: Error) => void }>;
}

const RESTARTING = '(restarting)';
const threadUrl = new URL(`./inference-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * The inference engine: a fixed pool of worker threads, each holding one onnxruntime session per
 * loaded version (by key), fed by the dynamic batcher. `infer` resolves with the rows' outputs or
 * rejects with Overloaded (queue full), NotFound (version not loaded) or InferenceFailure.
 */
export class InferenceEngine {
  private readonly threads: Thread[] = [];
  private readonly queue: BatchQueue<Pending>;
  private readonly loaded = new Map<string, { inputNames: string[]; outputNames: string[]; path: string; warmup: Feeds }>();
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private inFlight = 0;

  constructor(private readonly options: EngineOptions) {
    this.queue = new BatchQueue({ maxBatchRows: options.maxBatchRows, maxDelayMs: options.maxQueueDelayMs, maxLength: options.maxQueueLength });
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.options.threads; i++) this.threads.push(this.spawn(i));
  }

  /**
   * A thread that dies (it should not: onnxruntime errors are caught inside it) fails its pending
   * calls and is replaced by a new one that loads every current version before taking batches.
   */
  private spawn(slot: number): Thread {
    const worker = threadUrl.pathname.endsWith('.ts')
      ? // Source runs (tsx, no build step): the thread registers tsx before importing its module.
        new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(threadUrl.href)}))`, { eval: true })
      : new Worker(threadUrl);
    const thread: Thread = { worker, running: undefined, calls: new Map() };
    worker.on('message', (res: ThreadResponse) => {
      const call = thread.calls.get(res.id);
      thread.calls.delete(res.id);
      call?.resolve(res);
    });
    worker.on('error', (err) => this.options.log.error('inference thread failed', { thread: slot, err }));
    worker.on('exit', (code) => {
      for (const call of thread.calls.values()) call.reject(new InferenceFailure(`inference thread exited (code ${code})`));
      thread.calls.clear();
      if (this.closed) return;
      this.options.log.error('inference thread exited; starting a replacement', { thread: slot, code });
      const replacement = this.spawn(slot);
      replacement.running = RESTARTING;
      this.threads[slot] = replacement;
      void this.reloadAll(replacement).finally(() => {
        replacement.running = undefined;
        this.pump();
      });
    });
    return thread;
  }

  private async reloadAll(thread: Thread): Promise<void> {
    for (const [key, v] of this.loaded) {
      const res = await this.call(thread, { type: 'load', id: 0, key, path: v.path, intraOpThreads: this.options.intraOpThreads, warmup: v.warmup }).catch((err: Error) => ({ ok: false as const, error: err.message }));
      if (!res.ok) this.options.log.error('reloading a version on a replacement thread failed', { key, error: res.error });
    }
  }

  get queueDepth(): number {
    return this.queue.depth;
  }

  get batchesInFlight(): number {
    return this.inFlight;
  }

  /** Loads and warms a session on every thread; on any failure the version is unloaded everywhere. */
  async load(key: string, path: string, warmup: Feeds): Promise<{ inputNames: string[]; outputNames: string[] }> {
    const existing = this.loaded.get(key);
    if (existing) return { inputNames: existing.inputNames, outputNames: existing.outputNames };
    const results = await Promise.allSettled(
      this.threads.map((t) => this.call(t, { type: 'load', id: 0, key, path, intraOpThreads: this.options.intraOpThreads, warmup })),
    );
    const failed = results.find((r) => r.status === 'rejected' || !r.value.ok);
    if (failed) {
      await Promise.allSettled(this.threads.map((t) => this.call(t, { type: 'unload', id: 0, key })));
      const reason = failed.status === 'rejected' ? failed.reason : failed.value.ok ? '' : failed.value.error;
      throw new InferenceFailure(`loading failed: ${reason instanceof Error ? reason.message : String(reason)}`);
    }
    const first = (results[0] as PromiseFulfilledResult<ThreadResponse & { ok: true }>).value;
    const names = { inputNames: first.inputNames ?? [], outputNames: first.outputNames ?? [] };
    this.loaded.set(key, { ...names, path, warmup });
    return names;
  }

  /** Stops accepting requests for the version, lets queued ones finish, then releases the sessions. */
  async unload(key: string): Promise<void> {
    this.loaded.delete(key);
    while (this.queue.depthOf(key) > 0) await new Promise((r) => setTimeout(r, 5));
    await Promise.allSettled(this.threads.map((t) => this.notRunning(t, key).then(() => this.call(t, { type: 'unload', id: 0, key }))));
  }

  infer(key: string, feeds: Feeds, rows: number, outputs: string[]): Promise<OutputTensors> {
    if (this.closed) return Promise.reject(new PlumbError('Unavailable', 'the serving pool is shutting down'));
    if (!this.loaded.has(key)) return Promise.reject(new PlumbError('NotFound', `model version ${key} is not loaded`));
    return new Promise((resolve, reject) => {
      const accepted = this.queue.push(key, { rows, enqueuedAt: performance.now(), feeds, outputs, resolve, reject });
      if (!accepted) {
        reject(new PlumbError('Overloaded', `the queue for ${key} is full (${this.options.maxQueueLength} requests); retry shortly`));
        return;
      }
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.depth > 0 || this.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    if (this.timer) clearTimeout(this.timer);
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  private pump(): void {
    for (;;) {
      const thread = this.threads.find((t) => t.running === undefined);
      if (!thread) return;
      const batch = this.queue.take(performance.now());
      if (!batch) break;
      void this.dispatch(thread, batch.key, batch.items);
    }
    const deadline = this.queue.nextDeadline();
    if (deadline !== undefined && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, Math.max(0, deadline - performance.now()));
    }
  }

  private async dispatch(thread: Thread, key: string, items: Pending[]): Promise<void> {
    thread.running = key;
    this.inFlight++;
    const rowCounts = items.map((i) => i.rows);
    const rows = rowCounts.reduce((a, b) => a + b, 0);
    try {
      const outputs = [...new Set(items.flatMap((i) => i.outputs))];
      const res = await this.call(thread, { type: 'run', id: 0, key, feeds: concatFeeds(items.map((i) => i.feeds)), rowCounts, outputs });
      if (!res.ok) throw new InferenceFailure(res.error);
      const parts: RunPart[] = res.parts ?? [];
      items.forEach((item, i) => {
        const part = parts[i];
        if (part?.ok) item.resolve(part.outputs);
        else item.reject(new InferenceFailure(part ? part.error : 'no result for this request'));
      });
      this.options.onBatch?.(rows);
    } catch (err) {
      for (const item of items) item.reject(err instanceof Error ? err : new InferenceFailure(String(err)));
    } finally {
      thread.running = undefined;
      this.inFlight--;
      this.pump();
    }
  }

  private call(thread: Thread, req: ThreadRequest): Promise<ThreadResponse> {
    const id = this.nextId++;
    const msg = { ...req, id };
    return new Promise((resolve, reject) => {
      thread.calls.set(id, { resolve, reject });
      // Feeds are copied, not transferred: the prediction log still reads them after the answer.
      thread.worker.postMessage(msg);
    });
  }

  /** No new batch of an unloaded key can start, so this only waits out the one running now. */
  private async notRunning(thread: Thread, key: string): Promise<void> {
    while (thread.running === key) await new Promise((r) => setTimeout(r, 2));
  }
}
