/**
 * Dynamic batching policy: requests wait per model version; when a thread is free the version
 * whose oldest request has waited longest is taken, merging consecutive requests up to
 * `maxBatchRows` rows. A batch leaves early when it is full, otherwise once its oldest request has
 * waited `maxDelayMs` (so a lone request is delayed at most that long). The queue is bounded:
 * `push` refuses beyond `maxLength` waiting requests per version.
 */
export interface QueuedItem {
  rows: number;
  enqueuedAt: number;
}

export interface BatchQueueOptions {
  maxBatchRows: number;
  maxDelayMs: number;
  maxLength: number;
}

export class BatchQueue<T extends QueuedItem> {
  private readonly queues = new Map<string, T[]>();
  private waiting = 0;

  constructor(private readonly options: BatchQueueOptions) {}

  /** false when the version's queue is full. */
  push(key: string, item: T): boolean {
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = []));
    if (queue.length >= this.options.maxLength) return false;
    queue.push(item);
    this.waiting++;
    return true;
  }

  get depth(): number {
    return this.waiting;
  }

  depthOf(key: string): number {
    return this.queues.get(key)?.length ?? 0;
  }

  /** The next batch ready at `now`, or undefined (then `nextDeadline` says when to look again). */
  take(now: number): { key: string; items: T[] } | undefined {
    let best: { key: string; queue: T[] } | undefined;
    for (const [key, queue] of this.queues) {
      const head = queue[0];
      if (!head) continue;
      if (!this.isReady(queue, now)) continue;
      if (!best || head.enqueuedAt < best.queue[0]!.enqueuedAt) best = { key, queue };
    }
    if (!best) return undefined;
    const items: T[] = [best.queue.shift()!];
    let rows = items[0]!.rows;
    while (best.queue.length > 0 && rows + best.queue[0]!.rows <= this.options.maxBatchRows) {
      const next = best.queue.shift()!;
      rows += next.rows;
      items.push(next);
    }
    this.waiting -= items.length;
    if (best.queue.length === 0) this.queues.delete(best.key);
    return { key: best.key, items };
  }

  /** The earliest time a waiting batch becomes ready by age, if any request waits. */
  nextDeadline(): number | undefined {
    let deadline: number | undefined;
    for (const queue of this.queues.values()) {
      const head = queue[0];
      if (head && (deadline === undefined || head.enqueuedAt + this.options.maxDelayMs < deadline)) {
        deadline = head.enqueuedAt + this.options.maxDelayMs;
      }
    }
    return deadline;
  }

  private isReady(queue: T[], now: number): boolean {
    const head = queue[0]!;
    if (now - head.enqueuedAt >= this.options.maxDelayMs) return true;
    let rows = 0;
    for (const item of queue) {
      rows += item.rows;
      if (rows >= this.options.maxBatchRows) return true;
    }
    return false;
  }
}
