import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { DriftGauges, dispatchAlerts, jsonLogSink } from '../../activities/monitoring/alerts.js';
import { AlertState, decideAlerts, driftAlerts, emptyAlertState, performanceAlerts, type Alert } from '../../lib/alerts.js';
import { DriftResult, DriftThresholds, type FeatureDrift } from '../../lib/drift-contracts.js';
import { createLogger } from '../../lib/logger.js';

const HOUR = 3600_000;
const t0 = new Date('2026-11-27T00:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const warning: Alert = { key: 'drift/churn/feature/age', severity: 'warning', title: 'age drifted', message: '', details: {} };

describe('alert dedup', () => {
  test('sends an ongoing problem once, then again only after the repeat interval', () => {
    let state = emptyAlertState();
    const sent: number[] = [];
    for (let window = 0; window < 8; window++) {
      const d = decideAlerts([warning], state, at(window * HOUR), 3 * HOUR);
      if (d.send.length) sent.push(window);
      state = AlertState.parse(JSON.parse(JSON.stringify(d.state)));
    }
    assert.deepEqual(sent, [0, 3, 6]);
  });

  test('sends at once when the severity rises', () => {
    const first = decideAlerts([warning], emptyAlertState(), at(0), 6 * HOUR);
    const worse = decideAlerts([{ ...warning, severity: 'critical' }], first.state, at(HOUR), 6 * HOUR);
    assert.deepEqual(worse.send.map((a) => a.severity), ['critical']);
  });

  test('forgets a resolved problem so that its return alerts again', () => {
    const first = decideAlerts([warning], emptyAlertState(), at(0), 6 * HOUR);
    const quiet = decideAlerts([], first.state, at(HOUR), 6 * HOUR);
    assert.deepEqual(quiet.resolved, [warning.key]);
    const back = decideAlerts([warning], quiet.state, at(2 * HOUR), 6 * HOUR);
    assert.deepEqual(back.send, [warning]);
    assert.equal(back.state.active[warning.key]?.sent, 1);
  });

  test('dispatch delivers only due alerts to the JSON log sink', async () => {
    const lines: string[] = [];
    const sink = jsonLogSink(createLogger({ write: (l) => lines.push(l) }));
    const first = await dispatchAlerts({ alerts: [warning], state: emptyAlertState(), now: at(0).toISOString(), repeatIntervalMs: HOUR }, [sink]);
    await dispatchAlerts({ alerts: [warning], state: first.state, now: at(60_000).toISOString(), repeatIntervalMs: HOUR }, [sink]);
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!) as { level: string; msg: string; alert: Alert };
    assert.deepEqual([line.level, line.msg, line.alert.key], ['warn', 'alert: age drifted', warning.key]);
  });
});

function feature(name: string, drifted: boolean, score: number): FeatureDrift {
  return {
    name,
    type: 'numeric',
    drifted,
    method: 'wasserstein',
    score,
    threshold: 0.1,
    reference: { rows: 10, nulls: 0 },
    current: { rows: 10, nulls: 0 },
    psi: 0.2,
    jensenShannon: 0.3,
    ks: { statistic: 0.5, pValue: 0.01, pValueMethod: 'exact' },
    wasserstein: { distance: 1, normalised: score, referenceStd: 1 },
    histogram: { kind: 'numeric', edges: [0, 1], reference: [10], current: [10] },
  };
}

const drift: DriftResult = DriftResult.parse({
  features: [feature('age', true, 0.4), feature('tenure', false, 0.02)],
  predictions: [feature('probability', true, 0.3)],
  dataset: { drifted: true, share: 0.5, driftedFeatures: ['age'], threshold: 0.5 },
  rows: { reference: 10, current: 10 },
  thresholds: DriftThresholds.parse({}),
});

describe('alerts from results', () => {
  test('a drift result raises a critical dataset alert and a warning per drifted column', () => {
    assert.deepEqual(
      driftAlerts('churn', drift).map((a) => [a.key, a.severity]),
      [
        ['drift/churn/dataset', 'critical'],
        ['drift/churn/feature/age', 'warning'],
        ['drift/churn/prediction/probability', 'warning'],
      ],
    );
  });

  test('a performance breach raises a critical alert keyed by the metric', () => {
    const alerts = performanceAlerts('churn', { windows: [], unlabelled: 0, breaches: [{ window: t0.toISOString(), metric: 'rocAuc', value: 0.7, threshold: 0.8 }] });
    assert.deepEqual(alerts.map((a) => [a.key, a.severity, a.title]), [['performance/churn/rocAuc', 'critical', 'churn: rocAuc 0.7000 below 0.8']]);
  });
});

describe('drift gauges', () => {
  test('expose the latest scores and drop series of columns that are gone', async () => {
    const registry = new Registry();
    const gauges = new DriftGauges(registry);
    gauges.update('churn', drift);
    let text = await registry.metrics();
    assert.match(text, /plumb_drift_score\{model="churn",column="age",kind="feature",statistic="wasserstein_normalised"\} 0.4/);
    assert.match(text, /plumb_drift_detected\{model="churn",column="probability",kind="prediction"\} 1/);
    assert.match(text, /plumb_drift_share\{model="churn"\} 0.5/);
    gauges.update('churn', { ...drift, features: [feature('tenure', false, 0.05)], predictions: [] });
    text = await registry.metrics();
    assert.doesNotMatch(text, /column="age"/);
    assert.match(text, /plumb_drift_score\{model="churn",column="tenure",kind="feature",statistic="verdict"\} 0.05/);
  });
});
