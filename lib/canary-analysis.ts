import { type CanaryAnalysis, type CanaryThresholds, METRICS_BUCKET_MS, type VersionSummary } from './canary-contracts.js';
import { quantileBucket, slowerThan } from './latency-histogram.js';
import { chiSquaredContingency, psi } from './metrics/drift.js';
import type { MetricsReport, VersionMetrics } from './serving.js';

export interface AnalysisContext {
  phase: CanaryAnalysis['phase'];
  step: number;
  weight: number;
  candidate: string;
  stable: string;
  minRequests: number;
  thresholds: CanaryThresholds;
  /**
   * The stable version's metrics from an earlier window, used when it had fewer than
   * `minRequests` in this one (at 100 % it takes no traffic).
   */
  baseline?: { metrics: VersionMetrics; from: string };
}

const empty = (version: string): VersionMetrics => ({
  version,
  requests: 0,
  errors: 0,
  errorRate: 0,
  routes: {},
  latencyMs: { p50: 0, p90: 0, p99: 0, mean: 0 },
  latencyHistogram: {},
  rows: 0,
  predictionHistogram: new Array<number>(10).fill(0),
});

const summary = (m: VersionMetrics): VersionSummary => ({ version: m.version, requests: m.requests, errorRate: m.errorRate, p99Ms: m.latencyMs.p99, rows: m.rows });
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

/**
 * Judges the candidate against the stable version over one window of a `servingReportMetrics`
 * report. Checks, in order: enough candidate requests (else inconclusive), error-rate delta, p99
 * ratio (beyond the slack), PSI of the P(class 1) histograms; the first breach fails the step
 * with a reason naming the numbers and the threshold. The p99 of a short step rests on its few
 * slowest requests, which one scheduling hiccup makes, so a latency breach also needs evidence:
 * the share of candidate requests slower than the stable p99 must exceed the stable's own share
 * (about 1 %) by more than chance explains (χ² test, p < SIGNIFICANCE). Two samples of one distribution have a PSI
 * of about (bins − 1)·(1/n + 1/m) from sampling alone (0.18 for 100 rows each over 10 bins), so
 * the threshold applies to the PSI above that.
 *
 *   analyseCanary(report, { phase: 'live', step: 0, weight: 5, candidate: '2', stable: '1', minRequests: 100, thresholds })
 *   // → { verdict: 'fail', failedCheck: 'predictionShift', reason: 'prediction shift: PSI 0.912 > 0.2', … }
 */
export function analyseCanary(report: MetricsReport, ctx: AnalysisContext): CanaryAnalysis {
  const cand = report.versions.find((v) => v.version === ctx.candidate) ?? empty(ctx.candidate);
  const current = report.versions.find((v) => v.version === ctx.stable) ?? empty(ctx.stable);
  const useBaseline = current.requests < ctx.minRequests && ctx.baseline !== undefined;
  const stable = useBaseline ? ctx.baseline!.metrics : current;
  const base = {
    phase: ctx.phase,
    step: ctx.step,
    weight: ctx.weight,
    from: report.from,
    to: report.to,
    candidate: summary(cand),
    stable: summary(stable),
    ...(useBaseline ? { stableFrom: ctx.baseline!.from } : {}),
  };
  if (cand.requests < ctx.minRequests) {
    return { ...base, verdict: 'inconclusive', reason: `too few candidate requests: ${cand.requests} < ${ctx.minRequests}` };
  }
  if (stable.requests < ctx.minRequests) {
    return { ...base, verdict: 'inconclusive', reason: `too few stable requests to compare with: ${stable.requests} < ${ctx.minRequests}` };
  }
  const t = ctx.thresholds;
  const errorRateDelta = cand.errorRate - stable.errorRate;
  const p99Ratio = stable.latencyMs.p99 > 0 ? cand.latencyMs.p99 / stable.latencyMs.p99 : cand.latencyMs.p99 > 0 ? Infinity : 1;
  // Failed requests produce no predictions; with no rows on either side there is no shift to measure.
  // Against an earlier stable window (the 100 % step) the two answered different traffic, so their
  // prediction distributions are not comparable: shifts are judged on the steps that split traffic.
  const predictionPsi = !useBaseline && cand.rows > 0 && stable.rows > 0 ? psi(stable.predictionHistogram, cand.predictionHistogram) : undefined;
  const psiNoise = predictionPsi === undefined ? undefined : samplingPsi(stable.predictionHistogram, cand.predictionHistogram);
  const psiPValue = predictionPsi === undefined ? undefined : histogramPValue(stable.predictionHistogram, cand.predictionHistogram);
  const tail = latencyTail(stable, cand);
  const numbers = {
    errorRateDelta,
    p99Ratio: Number.isFinite(p99Ratio) ? p99Ratio : Number.MAX_VALUE,
    ...(tail ? { latencyPValue: tail.pValue } : {}),
    ...(predictionPsi === undefined ? {} : { predictionPsi, psiNoise, psiPValue }),
  };

  if (errorRateDelta > t.maxErrorRateDelta) {
    return {
      ...base,
      ...numbers,
      verdict: 'fail',
      failedCheck: 'errorRate',
      reason: `error rate: candidate ${pct(cand.errorRate)} vs stable ${pct(stable.errorRate)}, delta ${pct(errorRateDelta)} > ${pct(t.maxErrorRateDelta)}`,
    };
  }
  if (p99Ratio > t.maxP99Ratio && cand.latencyMs.p99 - stable.latencyMs.p99 > t.p99SlackMs && (tail === undefined || tail.pValue < SIGNIFICANCE)) {
    return {
      ...base,
      ...numbers,
      verdict: 'fail',
      failedCheck: 'latency',
      reason:
        `latency: candidate p99 ${cand.latencyMs.p99.toFixed(1)} ms vs stable ${stable.latencyMs.p99.toFixed(1)} ms, ratio ${p99Ratio.toFixed(2)} > ${t.maxP99Ratio}` +
        (tail
          ? `; ${pct(tail.candidateShare)} of candidate requests slower than the stable p99 (stable: ${pct(tail.stableShare)}), χ² p = ${tail.pValue.toExponential(1)}`
          : ''),
    };
  }
  // A shift must be both large (PSI above its sampling noise and the threshold) and real: with the
  // few hundred requests of a short step, PSI alone swings past 0.2 between two samples of one model.
  if (predictionPsi !== undefined && predictionPsi - psiNoise! > t.maxPredictionPsi && psiPValue! < SIGNIFICANCE) {
    return {
      ...base,
      ...numbers,
      verdict: 'fail',
      failedCheck: 'predictionShift',
      reason: `prediction shift: PSI ${predictionPsi.toFixed(3)} (${psiNoise!.toFixed(3)} of it expected from sampling) > ${t.maxPredictionPsi}, χ² p = ${psiPValue!.toExponential(1)}`,
    };
  }
  return {
    ...base,
    ...numbers,
    verdict: 'pass',
    reason: `error delta ${pct(errorRateDelta)}, p99 ratio ${p99Ratio.toFixed(2)}, PSI ${predictionPsi === undefined ? 'n/a' : predictionPsi.toFixed(3)}: within thresholds`,
  };
}

/**
 * Where the window of a step whose routing changed at `routedAt` (epoch ms) starts: the first
 * metrics bucket boundary at or after it. A report covers every bucket overlapping its window, so a
 * window starting mid-bucket would also count the seconds before the step: the previous weights,
 * and the candidate's loading, whose warm-up holds the inference threads and delays stable requests
 * by about one candidate run — the slower the candidate, the more its own loading inflates the
 * stable p99 it is compared with.
 *
 *   stepWindowStart(Date.parse('2026-01-01T00:00:03Z'))  // → Date.parse('2026-01-01T00:00:10Z')
 */
export const stepWindowStart = (routedAt: number): number => Math.ceil(routedAt / METRICS_BUCKET_MS) * METRICS_BUCKET_MS;

/** Significance a latency or prediction breach needs (χ² test) before it fails a step. */
export const SIGNIFICANCE = 0.001;

/**
 * How many requests of each version were slower than the stable p99, and the χ² p-value of the
 * difference when the candidate's share is the larger one (1 when it is not, or nothing is slower).
 * Undefined without histograms (a report recorded before pools kept them): the p99 rule alone
 * decides then, as it did when that report was judged.
 */
export function latencyTail(stable: VersionMetrics, cand: VersionMetrics): { stableShare: number; candidateShare: number; pValue: number } | undefined {
  if (!stable.latencyHistogram || !cand.latencyHistogram) return undefined;
  const limit = quantileBucket(stable.latencyHistogram, 0.99);
  if (limit < 0 || stable.requests === 0 || cand.requests === 0) return undefined;
  const slowStable = slowerThan(stable.latencyHistogram, limit);
  const slowCand = slowerThan(cand.latencyHistogram, limit);
  const stableShare = slowStable / stable.requests;
  const candidateShare = slowCand / cand.requests;
  const pValue =
    candidateShare > stableShare
      ? chiSquaredContingency([slowStable, stable.requests - slowStable], [slowCand, cand.requests - slowCand]).pValue
      : 1;
  return { stableShare, candidateShare, pValue };
}

/** χ² test of independence of two histograms over the bins either one uses. */
export function histogramPValue(a: readonly number[], b: readonly number[]): number {
  const used = a.map((_, i) => i).filter((i) => (a[i] ?? 0) + (b[i] ?? 0) > 0);
  return chiSquaredContingency(used.map((i) => a[i] ?? 0), used.map((i) => b[i] ?? 0)).pValue;
}

/** The PSI two samples of the same distribution show on average: (occupied bins − 1)·(1/n + 1/m). */
export function samplingPsi(a: readonly number[], b: readonly number[]): number {
  const n = a.reduce((x, y) => x + y, 0);
  const m = b.reduce((x, y) => x + y, 0);
  const bins = a.filter((c, i) => c > 0 || (b[i] ?? 0) > 0).length;
  return n > 0 && m > 0 ? Math.max(bins - 1, 0) * (1 / n + 1 / m) : 0;
}
