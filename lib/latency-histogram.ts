/**
 * Request latencies as a sparse log-scale histogram: bucket `i` counts requests that took at most
 * 0.05 ms · 1.1^i (the last bucket everything slower), so any quantile read from it is at most
 * 10 % above the true value. The serving pools record into it; reports and the canary analysis
 * read quantiles and tails from it.
 */
export type LatencyHistogram = Record<number, number>;

const BASE_MS = 0.05;
const GROWTH = 1.1;
const BUCKETS = 160;

export function latencyBucket(ms: number): number {
  if (ms <= BASE_MS) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / BASE_MS) / Math.log(GROWTH)));
}

/** The upper bound of bucket `i` in milliseconds, rounded to the microsecond. */
export const latencyBucketMs = (i: number): number => Math.round(BASE_MS * GROWTH ** i * 1000) / 1000;

export function addLatency(into: LatencyHistogram, from: LatencyHistogram): void {
  for (const [i, n] of Object.entries(from)) into[Number(i)] = (into[Number(i)] ?? 0) + n;
}

const total = (h: LatencyHistogram): number => Object.values(h).reduce((a, b) => a + b, 0);

/** The bucket holding the q-quantile (-1 for an empty histogram). */
export function quantileBucket(h: LatencyHistogram, q: number): number {
  const n = total(h);
  if (n === 0) return -1;
  const rank = Math.ceil(q * n);
  let seen = 0;
  for (const i of Object.keys(h).map(Number).sort((a, b) => a - b)) {
    seen += h[i]!;
    if (seen >= rank) return i;
  }
  return -1;
}

/** The q-quantile in milliseconds (the upper bound of its bucket); 0 for an empty histogram. */
export function latencyQuantile(h: LatencyHistogram, q: number): number {
  const i = quantileBucket(h, q);
  return i < 0 ? 0 : latencyBucketMs(i);
}

/** Requests in buckets above `bucket`: those slower than its upper bound. */
export function slowerThan(h: LatencyHistogram, bucket: number): number {
  return Object.entries(h).reduce((sum, [i, n]) => (Number(i) > bucket ? sum + n : sum), 0);
}
