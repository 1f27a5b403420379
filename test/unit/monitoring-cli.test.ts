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
    assert.equal(await plumb('monitor', 'report', 'churn'), `${path}\n  churn v3, window ${window.from} – ${window.to}: drift in tenure_months\n`);
    assert.equal(await readFile(path, 'utf8'), '<!DOCTYPE html><title>churn</title>');
  });

  test('report for a model whose monitor has not written one is NotFound', async () => {
    await assert.rejects(
      plumb('monitor', 'report', 'nobody'),
      (err: unknown) => err instanceof PlumbError && err.kind === 'NotFound' && err.message === 'no drift report for model "nobody" yet: its monitor has not checked a window with predictions (see `plumb schedule list`)',
    );
  });
});
