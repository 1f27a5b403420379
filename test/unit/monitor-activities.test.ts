import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { extractPredictionWindow, loadMonitorState, saveMonitorState, windowPartitions } from '../../activities/monitoring/monitor-activities.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { withDuckDB, sqlString } from '../../lib/duckdb.js';
import { freshMonitorState, monitorReportKey } from '../../lib/monitor-contracts.js';
import { artifactUri } from '../../lib/refs.js';
import { writePredictionLog } from '../support/prediction-log-fixture.js';

describe('monitor activities', () => {
  let dir: string;
  let store: LocalArtifactStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-monitor-act-'));
    store = new LocalArtifactStore(join(dir, 'artifacts'));
    // 10:59:30 and 11:00:00 in two hour partitions, 11:30:00 after the window.
    for (const [time, seed] of [['2026-11-27T10:59:30.000Z', 1], ['2026-11-27T11:00:00.000Z', 2], ['2026-11-27T11:30:00.000Z', 3]] as const) {
      await writePredictionLog(store, { model: 'churn', time: new Date(time), rows: 10, seed, drift: 0 });
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const window = { model: 'churn', from: '2026-11-27T10:30:00.000Z', to: '2026-11-27T11:30:00.000Z' };

  test('a window covers the hour partitions it overlaps', () => {
    assert.deepEqual(windowPartitions('churn', new Date(window.from), new Date(window.to)), [
      'predictions/model=churn/hour=2026-11-27T10',
      'predictions/model=churn/hour=2026-11-27T11',
    ]);
  });

  test('extracts the predictions with from <= time < to, features unpacked into columns', async () => {
    const w = await extractPredictionWindow(window, store);
    assert.equal(w.rows, 20);
    const columns = await withDuckDB(async (db) =>
      (await db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(w.path!)})`)).getRowObjectsJS().map((r) => String(r.column_name)),
    );
    assert.deepEqual(columns, ['time', 'requestId', 'model', 'version', 'route', 'label', 'probability', 'tenure_months', 'monthly_charges', 'contract', 'usage_gb']);
  });

  test('the same window gives the same stored file', async () => {
    const [a, b] = [await extractPredictionWindow(window, store), await extractPredictionWindow(window, store)];
    assert.equal(a.sha256, b.sha256);
  });

  test('a window without predictions has no rows and no file', async () => {
    assert.deepEqual(await extractPredictionWindow({ model: 'churn', from: '2026-11-27T12:00:00.000Z', to: '2026-11-27T13:00:00.000Z' }, store), { rows: 0 });
    assert.deepEqual(await extractPredictionWindow({ model: 'other', ...{ from: window.from, to: window.to } }, store), { rows: 0 });
  });

  test('saving the state keeps a copy of the latest report under a .html name', async () => {
    const html = '<!DOCTYPE html><title>r</title>';
    const stored = await store.put(html);
    const report = { kind: 'artifact' as const, uri: artifactUri(stored.sha256), sha256: stored.sha256, bytes: stored.bytes, mediaType: 'text/html; charset=utf-8' };
    await saveMonitorState({ ...freshMonitorState('churn', '1'), streak: 2, lastReport: report }, store);
    assert.equal(await readFile(store.namedPath(monitorReportKey('churn')), 'utf8'), html);
    assert.deepEqual((await loadMonitorState('churn', '1', store)).streak, 2);
  });

  test('a new production version starts from a fresh state but keeps the model’s last retraining', async () => {
    await saveMonitorState({ ...freshMonitorState('churn', '1'), streak: 2 }, store);
    assert.deepEqual(await loadMonitorState('churn', '2', store), freshMonitorState('churn', '2'));
    const lastRetraining = { workflowId: 'retrain/churn', runId: 'r1', started: true, reason: 'drift', at: '2026-11-27T10:00:00.000Z' };
    await saveMonitorState({ ...freshMonitorState('churn', '2'), streak: 1, lastRetraining }, store);
    assert.deepEqual(await loadMonitorState('churn', '3', store), { ...freshMonitorState('churn', '3'), lastRetraining });
  });
});
