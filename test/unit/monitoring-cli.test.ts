import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { registerMonitoringCommands } from '../../cli/monitoring.js';
import { parseStackConfig } from '../../lib/config.js';
import type { DriftResult } from '../../lib/drift-contracts.js';
import { PlumbError } from '../../lib/errors.js';
import { saveMonitorState } from '../../activities/monitoring/monitor-activities.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { freshMonitorState } from '../../lib/monitor-contracts.js';
import { artifactUri } from '../../lib/refs.js';

describe('plumb monitor', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-monitor-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Runs `plumb …` in-process and returns what it printed on stdout. */
  async function plumb(...args: string[]): Promise<string> {
    const program = new Command().exitOverride();
    const out: string[] = [];
    const config = async () => parseStackConfig({ artifacts: { dir: join(dir, 'artifacts') } }, join(dir, 'temporal-dev.yml'));
    registerMonitoringCommands(program, config, { out: (t) => out.push(t), err: () => {} });
    await program.parseAsync(['node', 'plumb', ...args]);
    return out.join('');
  }

  const fixture = ['--reference', 'test/fixtures/drift/small-reference.parquet', '--current', 'test/fixtures/drift/small-current.parquet'];

  test('drift --json prints the result and --report writes the HTML report', async () => {
    const report = join(dir, 'drift.html');
    const text = await plumb('monitor', 'drift', ...fixture, '--feature', 'num_stable:numeric', '--feature', 'cat_shifted:categorical', '--prediction', 'label:categorical:label_train', '--report', report, '--json');
    const drift = JSON.parse(text) as DriftResult;
    assert.deepEqual(drift.dataset.driftedFeatures, ['cat_shifted']);
    assert.deepEqual(drift.predictions.map((p) => [p.name, p.drifted]), [['label', true]]);
    assert.match(await readFile(report, 'utf8'), /id="col-cat_shifted"/);
  });

  test('drift prints a readable summary with the verdict per feature', async () => {
    const text = await plumb('monitor', 'drift', ...fixture, '--feature', 'num_stable:numeric', '--feature', 'num_shifted:numeric', '--threshold', 'datasetShare=0.5');
    assert.deepEqual(text.split('\n').map((l) => l.split(/\s+/).slice(0, 3).join(' ')), [
      'dataset drift: 1',
      ' ok num_stable',
      ' DRIFT num_shifted',
      '',
    ]);
  });

  test('a malformed --feature is a BadInput error naming the flag', async () => {
    await assert.rejects(plumb('monitor', 'drift', ...fixture, '--feature', 'age'), (err: unknown) => err instanceof PlumbError && err.kind === 'BadInput' && err.message === '--feature "age": expected <name>:numeric or <name>:categorical');
  });

  test('an unknown threshold is a BadInput error naming it', async () => {
    await assert.rejects(plumb('monitor', 'drift', ...fixture, '--feature', 'num_stable:numeric', '--threshold', 'wasserstien=0.2'), (err: unknown) => err instanceof PlumbError && err.message === 'unknown key thresholds.wasserstien');
  });

  test('report prints the path of the latest HTML report with the window it covers', async () => {
    const store = new LocalArtifactStore(join(dir, 'artifacts'));
    const stored = await store.put('<!DOCTYPE html><title>churn</title>');
    const report = { kind: 'artifact' as const, uri: artifactUri(stored.sha256), sha256: stored.sha256, bytes: stored.bytes, mediaType: 'text/html; charset=utf-8' };
    const window = { from: '2026-11-27T10:00:00.000Z', to: '2026-11-27T11:00:00.000Z', rows: 400, drifted: true, share: 0.75, driftedFeatures: ['tenure_months'], performanceBreaches: [], report };
    await saveMonitorState({ ...freshMonitorState('churn', '3'), lastReport: report, windows: [window] }, store);
    const path = store.namedPath('monitor/churn/latest-report.html');
    assert.deepEqual(JSON.parse(await plumb('monitor', 'report', 'churn', '--json')), { model: 'churn', version: '3', path, report, window });
    assert.equal(await plumb('monitor', 'report', 'churn'), `${path}\n  churn v3, window 2026-11-27 10:00:00 – 11:00:00 UTC: 400 predictions, drift (75 % of features: tenure_months)\n`);
    assert.equal(await readFile(path, 'utf8'), '<!DOCTYPE html><title>churn</title>');
  });

  test('status shows the recent windows, the drift streak, active alerts and the last retraining', async () => {
    const store = new LocalArtifactStore(join(dir, 'artifacts'));
    const quiet = { from: '2026-11-27T09:00:00.000Z', to: '2026-11-27T10:00:00.000Z', rows: 0, driftedFeatures: [], performanceBreaches: [] };
    const healthy = { from: '2026-11-27T10:00:00.000Z', to: '2026-11-27T11:00:00.000Z', rows: 350, drifted: false, share: 0.1, driftedFeatures: ['region'], performanceBreaches: [] };
    const drifted = { from: '2026-11-27T23:30:00.000Z', to: '2026-11-28T00:30:00.000Z', rows: 420, drifted: true, share: 0.5, driftedFeatures: ['tenure_months', 'region'], performanceBreaches: ['rocAuc'] };
    const alerts = { active: { 'drift:churn:dataset': { firstAt: '2026-11-28T00:30:00.000Z', lastSentAt: '2026-11-28T00:30:00.000Z', severity: 'critical' as const, sent: 1 } } };
    const lastRetraining = { workflowId: 'retrain/churn', runId: 'r1', started: true, reason: 'performance below threshold: rocAuc', at: '2026-11-28T00:30:00.000Z' };
    await saveMonitorState({ ...freshMonitorState('churn', '4'), streak: 1, alerts, lastRetraining, windows: [quiet, healthy, drifted] }, store);
    assert.equal(
      await plumb('monitor', 'status', 'churn', '--windows', '2'),
      [
        'churn v4: drift streak 1',
        'recent windows:',
        '  window 2026-11-27 10:00:00 – 11:00:00 UTC: 350 predictions, no dataset drift (drifted: region)',
        '  window 2026-11-27 23:30:00 – 2026-11-28 00:30:00 UTC: 420 predictions, drift (50 % of features: tenure_months, region); performance below threshold: rocAuc',
        'active alerts:',
        '  critical drift:churn:dataset (since 2026-11-28T00:30:00.000Z, sent 1×)',
        'last retraining: retrain/churn started at 2026-11-28T00:30:00.000Z (performance below threshold: rocAuc)',
        '',
      ].join('\n'),
    );
    assert.equal(JSON.parse(await plumb('monitor', 'status', 'churn', '--json')).windows.length, 3);
    await assert.rejects(plumb('monitor', 'status', 'churn', '--windows', '0'), (err: unknown) => err instanceof PlumbError && err.kind === 'BadInput' && /--windows "0"/.test(err.message));
    await assert.rejects(plumb('monitor', 'status', 'nobody'), (err: unknown) => err instanceof PlumbError && err.kind === 'NotFound' && /"nobody" has not been monitored yet/.test(err.message));
  });

  test('report for a model whose monitor has not written one is NotFound', async () => {
    await assert.rejects(
      plumb('monitor', 'report', 'nobody'),
      (err: unknown) => err instanceof PlumbError && err.kind === 'NotFound' && err.message === 'no drift report for model "nobody" yet: its monitor has not checked a window with predictions (see `plumb schedule list`)',
    );
  });
});
