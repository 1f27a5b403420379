import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { createMonitoringActivities, type MonitoringActivities } from '../../activities/monitoring/monitoring-activities.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { driftAlerts, emptyAlertState } from '../../lib/alerts.js';
import { createLogger } from '../../lib/logger.js';
import type { Progress } from '../../lib/progress.js';

/** Runs an activity in a mock activity context, keeping its types; heartbeats go to `beats`. */
function runActivity<I, O>(fn: (input: I) => Promise<O>, input: I, beats: Progress[] = []): Promise<O> {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  env.on('heartbeat', (d: unknown) => beats.push(d as Progress));
  return env.run(fn, input) as Promise<O>;
}

describe('monitoring activities', () => {
  let dir: string;
  let store: LocalArtifactStore;
  let activities: MonitoringActivities;
  const registry = new Registry();
  const lines: string[] = [];
  const input = {
    model: 'churn',
    reference: 'test/fixtures/drift/small-reference.parquet',
    current: 'test/fixtures/drift/small-current.parquet',
    features: [
      { name: 'num_stable', type: 'numeric' as const },
      { name: 'num_shifted', type: 'numeric' as const },
    ],
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-monitoring-'));
    store = new LocalArtifactStore(join(dir, 'artifacts'));
    activities = createMonitoringActivities({ store, log: createLogger({ level: 'info', write: (l) => lines.push(l) }), metrics: registry });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('drift check heartbeats per column, returns the result and updates the gauges', async () => {
    const beats: Progress[] = [];
    const drift = await runActivity(activities.driftCheck, input, beats);
    assert.deepEqual(drift.dataset.driftedFeatures, ['num_shifted']);
    assert.deepEqual(beats.map((b) => `${b.done}/${b.total} ${b.message}`), ['1/2 num_stable', '2/2 num_shifted']);
    assert.match(await registry.metrics(), /plumb_drift_detected\{model="churn",column="num_shifted",kind="feature"\} 1/);
  });

  test('drift check input errors are non-retryable PlumbBadInput failures naming the field', async () => {
    await assert.rejects(runActivity(activities.driftCheck, { ...input, thresholds: { psi: -1 } }), (err: unknown) => {
      return err instanceof ApplicationFailure && err.type === 'PlumbBadInput' && err.nonRetryable && /thresholds\.psi/.test(err.message);
    });
  });

  test('alerts, dedup state and the report go through the activities', async () => {
    const drift = await runActivity(activities.driftCheck, input);
    const alerts = driftAlerts('churn', drift);
    const now = '2026-11-27T03:00:00.000Z';
    const first = await runActivity(activities.dispatchAlerts, { alerts, state: emptyAlertState(), now, repeatIntervalMs: 3600_000 });
    const second = await runActivity(activities.dispatchAlerts, { alerts, state: first.state, now: '2026-11-27T03:15:00.000Z', repeatIntervalMs: 3600_000 });
    assert.deepEqual([first.send.length, second.send.length, second.suppressed.length], [alerts.length, 0, alerts.length]);
    assert.equal(lines.filter((l) => l.includes('"msg":"alert: ')).length, alerts.length);
    const report = await runActivity(activities.writeDriftReport, { title: 'churn', generatedAt: now, drift });
    assert.match(await readFile(await store.localPath(report.sha256), 'utf8'), /id="col-num_shifted"/);
  });
});
