import { type LatencyHistogram, addLatency, latencyBucket, latencyQuantile } from '../lib/latency-histogram.js';
import type { MetricsReport, Route, VersionMetrics } from '../lib/serving.js';

/**
 * Per-version request statistics in 10-second buckets, kept for the retention window, from which
 * the control plane's metric reports are computed (counts, error rate, latency quantiles, the
 * histogram of predicted probabilities). Buckets are plain data so that reports can merge the
 * buckets of several pool processes.
 */
export const BUCKET_MS = 10_000;

export interface StatsBucket {
  start: number;
  requests: number;
  errors: number;
  routes: Partial<Record<Route, number>>;
  latency: LatencyHistogram;
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
    const idx = latencyBucket(outcome.latencyMs);
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
    const latency: LatencyHistogram = {};
    const routes: Partial<Record<Route, number>> = {};
    const predictions = new Array<number>(10).fill(0);
    let requests = 0, errors = 0, rows = 0, sum = 0;
    for (const b of buckets) {
      requests += b.requests;
      errors += b.errors;
      rows += b.rows;
      sum += b.latencySumMs;
      for (const [route, n] of Object.entries(b.routes)) routes[route as Route] = (routes[route as Route] ?? 0) + n;
      addLatency(latency, b.latency);
      b.predictions.forEach((n, i) => (predictions[i]! += n));
    }
    const quantile = (q: number) => latencyQuantile(latency, q);
    versions.push({
      version,
      requests,
      errors,
      errorRate: requests === 0 ? 0 : errors / requests,
      routes,
      latencyMs: { p50: quantile(0.5), p90: quantile(0.9), p99: quantile(0.99), mean: requests === 0 ? 0 : sum / requests },
      latencyHistogram: latency,
      rows,
      predictionHistogram: predictions,
    });
  }
  versions.sort((a, b) => a.version.localeCompare(b.version, 'en', { numeric: true }));
  return { model, from: from.toISOString(), to: to.toISOString(), pools: pools.map((p) => p.pool), versions };
}
