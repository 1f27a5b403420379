import type { MetricsReport, Route, VersionMetrics } from '../lib/serving.js';

/**
 * Per-version request statistics in 10-second buckets, kept for the retention window, from which
 * the control plane's metric reports are computed (counts, error rate, latency quantiles, the
 * histogram of predicted probabilities). Buckets are plain data so that reports can merge the
 * buckets of several pool processes.
 */
export const BUCKET_MS = 10_000;
const LATENCY_BASE_MS = 0.05;
const LATENCY_GROWTH = 1.1;
const LATENCY_BUCKETS = 160;

export interface StatsBucket {
  start: number;
  requests: number;
  errors: number;
  routes: Partial<Record<Route, number>>;
  /** Counts per latency bucket index (upper bound LATENCY_BASE_MS · 1.1^i). */
  latency: Record<number, number>;
  latencySumMs: number;
  rows: number;
  predictions: number[];
}

/** model → version → buckets, oldest first. */
export type StatsSnapshot = Record<string, Record<string, StatsBucket[]>>;

export interface Outcome {
  ok: boolean;
  latencyMs: number;
  /** P(class 1) of each scored row, when the request succeeded. */
  probabilities?: ArrayLike<number>;
}

export class VersionStats {
  private readonly data: StatsSnapshot = {};

  constructor(private readonly retentionMs: number) {}

  record(model: string, version: string, route: Route, outcome: Outcome, now = Date.now()): void {
    const versions = (this.data[model] ??= {});
    const buckets = (versions[version] ??= []);
    const start = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    let bucket = buckets[buckets.length - 1];
    if (!bucket || bucket.start !== start) {
      bucket = { start, requests: 0, errors: 0, routes: {}, latency: {}, latencySumMs: 0, rows: 0, predictions: new Array(10).fill(0) };
      buckets.push(bucket);
      while (buckets.length > 0 && buckets[0]!.start < now - this.retentionMs) buckets.shift();
    }
    bucket.requests++;
    if (!outcome.ok) bucket.errors++;
    bucket.routes[route] = (bucket.routes[route] ?? 0) + 1;
    const idx = latencyIndex(outcome.latencyMs);
    bucket.latency[idx] = (bucket.latency[idx] ?? 0) + 1;
    bucket.latencySumMs += outcome.latencyMs;
    if (outcome.probabilities) {
      for (let i = 0; i < outcome.probabilities.length; i++) {
        const p = outcome.probabilities[i]!;
        const bin = Math.min(9, Math.max(0, Math.floor(p * 10)));
        bucket.predictions[bin]!++;
        bucket.rows++;
      }
    }
  }

  snapshot(): StatsSnapshot {
    return structuredClone(this.data);
  }
}

/** Merges the buckets of one or more pools whose start lies in [from, to) into a report. */
export function buildReport(model: string, from: Date, to: Date, pools: { pool: string; stats: StatsSnapshot }[]): MetricsReport {
  const merged = new Map<string, StatsBucket[]>();
  for (const { stats } of pools) {
    for (const [version, buckets] of Object.entries(stats[model] ?? {})) {
      const inWindow = buckets.filter((b) => b.start + BUCKET_MS > from.getTime() && b.start < to.getTime());
      merged.set(version, [...(merged.get(version) ?? []), ...inWindow]);
    }
  }
  const versions: VersionMetrics[] = [];
  for (const [version, buckets] of merged) {
    if (buckets.length === 0) continue;
    const latency = new Map<number, number>();
    const routes: Partial<Record<Route, number>> = {};
    const predictions = new Array<number>(10).fill(0);
    let requests = 0, errors = 0, rows = 0, sum = 0;
    for (const b of buckets) {
      requests += b.requests;
      errors += b.errors;
      rows += b.rows;
      sum += b.latencySumMs;
      for (const [route, n] of Object.entries(b.routes)) routes[route as Route] = (routes[route as Route] ?? 0) + n;
      for (const [idx, n] of Object.entries(b.latency)) latency.set(Number(idx), (latency.get(Number(idx)) ?? 0) + n);
      b.predictions.forEach((n, i) => (predictions[i]! += n));
    }
    const quantile = (q: number) => latencyQuantile(latency, requests, q);
    versions.push({
      version,
      requests,
      errors,
      errorRate: requests === 0 ? 0 : errors / requests,
      routes,
      latencyMs: { p50: quantile(0.5), p90: quantile(0.9), p99: quantile(0.99), mean: requests === 0 ? 0 : sum / requests },
      rows,
      predictionHistogram: predictions,
    });
  }
  versions.sort((a, b) => a.version.localeCompare(b.version, 'en', { numeric: true }));
  return { model, from: from.toISOString(), to: to.toISOString(), pools: pools.map((p) => p.pool), versions };
}

function latencyIndex(ms: number): number {
  if (ms <= LATENCY_BASE_MS) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.ceil(Math.log(ms / LATENCY_BASE_MS) / Math.log(LATENCY_GROWTH)));
}

/** The upper bound of the bucket holding the q-quantile: at most 10 % above the true value. */
function latencyQuantile(counts: Map<number, number>, total: number, q: number): number {
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const idx of [...counts.keys()].sort((a, b) => a - b)) {
    seen += counts.get(idx)!;
    if (seen >= rank) return Math.round(LATENCY_BASE_MS * LATENCY_GROWTH ** idx * 1000) / 1000;
  }
  return 0;
}
