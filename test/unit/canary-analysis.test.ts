import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyseCanary, type AnalysisContext, stepWindowStart } from '../../lib/canary-analysis.js';
import { CanaryPolicy } from '../../lib/canary-contracts.js';
import { type LatencyHistogram, latencyBucket, latencyQuantile } from '../../lib/latency-histogram.js';
import type { MetricsReport, VersionMetrics } from '../../lib/serving.js';
import { VersionStats, buildReport } from '../../serving/version-stats.js';

/** `latency`: [milliseconds, requests] pairs; by default every request takes 1 ms. */
const metrics = (version: string, o: Partial<VersionMetrics> & { latency?: [number, number][] } = {}): VersionMetrics => {
  const requests = o.requests ?? 200;
  const errors = o.errors ?? 0;
  const latencyHistogram: LatencyHistogram = {};
  for (const [ms, n] of o.latency ?? [[1, requests]]) latencyHistogram[latencyBucket(ms)] = (latencyHistogram[latencyBucket(ms)] ?? 0) + n;
  const q = (x: number) => latencyQuantile(latencyHistogram, x);
  return {
    version,
    requests,
    errors,
    errorRate: requests ? errors / requests : 0,
    routes: {},
    latencyMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), mean: 1 },
    latencyHistogram,
    rows: o.rows ?? requests - errors,
    predictionHistogram: o.predictionHistogram ?? [10, 20, 30, 40, 50, 50, 40, 30, 20, 10],
  };
};
const report = (...versions: VersionMetrics[]): MetricsReport => ({ model: 'churn', from: '2026-01-01T00:00:00.000Z', to: '2026-01-01T00:01:00.000Z', pools: ['p1'], versions });
const ctx = (o: Partial<AnalysisContext> = {}): AnalysisContext => ({
  phase: 'live',
  step: 0,
  weight: 5,
  candidate: '2',
  stable: '1',
  minRequests: 100,
  thresholds: CanaryPolicy.parse({}).thresholds,
  ...o,
});

describe('canary policy', () => {
  test('defaults are the documented ones', () => {
    assert.deepEqual(CanaryPolicy.parse({}), {
      steps: [5, 25, 50, 100],
      interval: '5 minutes',
      minRequests: 100,
      maxWaitForRequests: '30 minutes',
      thresholds: { maxErrorRateDelta: 0.01, maxP99Ratio: 1.5, p99SlackMs: 5, maxPredictionPsi: 0.2 },
      toleratedFailures: 0,
    });
  });

  test('steps must ascend and end at 100', () => {
    const notAscending = CanaryPolicy.safeParse({ steps: [50, 25, 100] });
    assert.equal(notAscending.success, false);
    assert.equal(notAscending.error?.issues[0]?.message, 'expected strictly ascending percentages');
    const notFull = CanaryPolicy.safeParse({ steps: [5, 50] });
    assert.equal(notFull.error?.issues[0]?.message, 'the last step must be 100');
  });

  test('an unknown field or a bad duration is refused naming the field', () => {
    const r = CanaryPolicy.safeParse({ intervall: '1m', interval: 'soon' });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues.map((i) => i.path.join('.')).sort(), ['', 'interval']);
  });
});

describe('canary analysis', () => {
  test('a candidate like the stable version passes', () => {
    const a = analyseCanary(report(metrics('1', { requests: 1000 }), metrics('2')), ctx());
    assert.equal(a.verdict, 'pass');
    assert.equal(a.errorRateDelta, 0);
    assert.equal(a.p99Ratio, 1);
    assert.equal(a.predictionPsi, 0);
    assert.equal(a.psiNoise, 9 * (1 / 300 + 1 / 300));
    assert.equal(a.failedCheck, undefined);
  });

  test('too few candidate requests is inconclusive', () => {
    const a = analyseCanary(report(metrics('1'), metrics('2', { requests: 40 })), ctx());
    assert.equal(a.verdict, 'inconclusive');
    assert.equal(a.reason, 'too few candidate requests: 40 < 100');
  });

  test('a candidate missing from the report is inconclusive with zero requests', () => {
    const a = analyseCanary(report(metrics('1')), ctx());
    assert.equal(a.verdict, 'inconclusive');
    assert.equal(a.candidate.requests, 0);
  });

  test('errors on part of the inputs fail the error-rate check', () => {
    const a = analyseCanary(report(metrics('1'), metrics('2', { requests: 200, errors: 20 })), ctx());
    assert.equal(a.verdict, 'fail');
    assert.equal(a.failedCheck, 'errorRate');
    assert.equal(a.reason, 'error rate: candidate 10.00 % vs stable 0.00 %, delta 10.00 % > 1.00 %');
  });

  test('a much slower candidate fails the latency check', () => {
    const a = analyseCanary(report(metrics('1', { latency: [[1, 196], [4, 4]] }), metrics('2', { latency: [[40, 200]] })), ctx());
    assert.equal(a.failedCheck, 'latency');
    assert.equal(a.p99Ratio, a.candidate.p99Ms / a.stable.p99Ms);
    assert.ok(a.p99Ratio > 9 && a.p99Ratio < 11, `ratio ${a.p99Ratio}`);
    assert.ok(a.latencyPValue! < 1e-10);
    assert.equal(
      a.reason,
      `latency: candidate p99 ${a.candidate.p99Ms.toFixed(1)} ms vs stable ${a.stable.p99Ms.toFixed(1)} ms, ratio ${a.p99Ratio.toFixed(2)} > 1.5; ` +
        `100.00 % of candidate requests slower than the stable p99 (stable: 0.00 %), χ² p = ${a.latencyPValue!.toExponential(1)}`,
    );
  });

  test('a p99 ratio breach within the slack passes', () => {
    const a = analyseCanary(report(metrics('1'), metrics('2', { latency: [[3, 200]] })), ctx());
    assert.equal(a.verdict, 'pass');
    assert.ok(a.p99Ratio! > 2.5);
  });

  test('a report without latency histograms (recorded before pools kept them) is judged by the p99 rule alone', () => {
    const { latencyHistogram: _s, ...stable } = metrics('1', { latency: [[1, 196], [4, 4]] });
    const { latencyHistogram: _c, ...cand } = metrics('2', { latency: [[40, 200]] });
    const a = analyseCanary(report(stable, cand), ctx());
    assert.equal(a.failedCheck, 'latency');
    assert.equal(a.latencyPValue, undefined);
    assert.equal(a.reason, `latency: candidate p99 ${a.candidate.p99Ms.toFixed(1)} ms vs stable ${a.stable.p99Ms.toFixed(1)} ms, ratio ${a.p99Ratio!.toFixed(2)} > 1.5`);
  });

  test('a p99 breach made by a few slow requests that chance explains passes', () => {
    // A scheduling hiccup during the candidate's part of the window: its p99 is 2.6 × the stable one.
    const stable = metrics('1', { requests: 120, latency: [[1, 118], [29.7, 2]] });
    const cand = metrics('2', { requests: 630, latency: [[1, 620], [77, 10]] });
    const a = analyseCanary(report(stable, cand), ctx());
    assert.ok(a.p99Ratio! > 2.5 && a.candidate.p99Ms - a.stable.p99Ms > 5, `p99 ${a.candidate.p99Ms} vs ${a.stable.p99Ms}`);
    assert.ok(a.latencyPValue! > 0.001, `p ${a.latencyPValue}`);
    assert.equal(a.verdict, 'pass');
  });

  test('shifted predictions fail the prediction-shift check', () => {
    const shifted = [0, 0, 0, 0, 0, 10, 30, 60, 90, 120];
    const a = analyseCanary(report(metrics('1'), metrics('2', { predictionHistogram: shifted })), ctx());
    assert.equal(a.failedCheck, 'predictionShift');
    assert.ok(a.predictionPsi! > 0.2);
    assert.equal(a.psiNoise, 9 * (1 / 300 + 1 / 310));
    assert.equal(a.reason, `prediction shift: PSI ${a.predictionPsi!.toFixed(3)} (0.059 of it expected from sampling) > 0.2, χ² p = ${a.psiPValue!.toExponential(1)}`);
    assert.ok(a.psiPValue! < 1e-10);
  });

  test('a large PSI from a small sample that chance explains passes', () => {
    const stable = metrics('1', { requests: 60, predictionHistogram: [0, 4, 8, 12, 6, 6, 10, 8, 4, 2] });
    const cand = metrics('2', { requests: 60, predictionHistogram: [2, 10, 2, 6, 12, 2, 4, 14, 6, 2] });
    const a = analyseCanary(report(cand, stable), ctx({ minRequests: 50 }));
    assert.ok(a.predictionPsi! - a.psiNoise! > 0.2, `PSI ${a.predictionPsi} noise ${a.psiNoise}`);
    assert.ok(a.psiPValue! > 0.001);
    assert.equal(a.verdict, 'pass');
  });

  test('a prediction shift within sampling noise passes', () => {
    const a = analyseCanary(report(metrics('1', { requests: 100, predictionHistogram: [5, 5, 5, 5, 5, 5, 5, 5, 5, 5] }), metrics('2', { requests: 100, predictionHistogram: [9, 1, 8, 2, 7, 3, 5, 5, 4, 6] })), ctx());
    assert.equal(a.verdict, 'pass');
    assert.equal(a.psiNoise, 9 * (1 / 50 + 1 / 50));
    assert.ok(a.predictionPsi! > 0.2, `PSI ${a.predictionPsi}`);
  });

  test('at 100 % the stable baseline from an earlier window is used', () => {
    const baseline = { metrics: metrics('1', { requests: 500 }), from: '2026-01-01T00:00:00.000Z' };
    const a = analyseCanary(report(metrics('2', { requests: 300 })), ctx({ weight: 100, step: 3, baseline }));
    assert.equal(a.verdict, 'pass');
    assert.equal(a.stable.requests, 500);
    assert.equal(a.stableFrom, '2026-01-01T00:00:00.000Z');
  });

  test('at 100 % predictions are not compared with an earlier window, which answered other traffic', () => {
    const baseline = { metrics: metrics('1', { requests: 500 }), from: '2026-01-01T00:00:00.000Z' };
    const shifted = metrics('2', { requests: 300, predictionHistogram: [0, 0, 0, 0, 0, 0, 0, 0, 50, 250] });
    const a = analyseCanary(report(shifted), ctx({ weight: 100, step: 3, baseline }));
    assert.equal(a.verdict, 'pass');
    assert.equal(a.predictionPsi, undefined);
  });

  test('with no stable traffic and no baseline the step is inconclusive', () => {
    const a = analyseCanary(report(metrics('2', { requests: 300 })), ctx({ weight: 100 }));
    assert.equal(a.verdict, 'inconclusive');
    assert.equal(a.reason, 'too few stable requests to compare with: 0 < 100');
  });
});

describe('step windows', () => {
  const at = (iso: string) => Date.parse(`2026-01-01T00:00:${iso}Z`);

  test('a step window starts at the first metrics bucket boundary at or after the routing change', () => {
    assert.equal(stepWindowStart(at('03.250')), at('10.000'));
    assert.equal(stepWindowStart(at('10.000')), at('10.000'));
    assert.equal(stepWindowStart(at('19.999')), at('20.000'));
  });

  test('requests stalled by the candidate loading just before the routing change stay out of the step window', () => {
    const stats = new VersionStats(60_000);
    // Stable requests delayed by the candidate's warm-up, then the step's own traffic.
    for (let i = 0; i < 3; i++) stats.record('churn', '1', 'stable', { ok: true, latencyMs: 400, probabilities: [0.5] }, at('02.000'));
    for (let i = 0; i < 100; i++) stats.record('churn', '1', 'stable', { ok: true, latencyMs: 1, probabilities: [0.5] }, at('12.000'));
    const routedAt = at('03.000');
    const p99 = (from: number) => buildReport('churn', new Date(from), new Date(at('20.000')), [{ pool: 'p1', stats: stats.snapshot() }]).versions[0]!.latencyMs.p99;
    assert.ok(p99(routedAt) > 400, 'a window from the routing change itself covers the whole bucket before it');
    assert.ok(p99(stepWindowStart(routedAt)) < 1.1);
  });
});
