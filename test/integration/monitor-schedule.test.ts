import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { Alert } from '../../lib/alerts.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { createLogger } from '../../lib/logger.js';
import { type MonitorCheckResult, MonitorState, type MonitorInputDraft, type MonitorRunResult, monitorStateKey, retrainWorkflowId } from '../../lib/monitor-contracts.js';
import { registerWithStart, updateRegistry } from '../../lib/registry-client.js';
import { createMonitorSchedule, deleteMonitorSchedule, getSchedule, listSchedules, triggerSchedule } from '../../lib/schedules.js';
import type { DatasetRef, ModelRef } from '../../lib/refs.js';
import { createControlWorker } from '../../workers/control-worker.js';
import { MONITOR_FEATURES, storeChurnReference, writePredictionLog } from '../support/prediction-log-fixture.js';
import { type Suite, connectTestClient, createSuite } from './harness.js';

const log = createLogger({ level: 'error' });

describe('monitor schedule', () => {
  let suite: Suite;
  let store: LocalArtifactStore;
  let client: Client;
  let closeClient: () => Promise<void>;
  let worker: Worker;
  let running: Promise<void>;
  let receiver: Server;
  let reference: DatasetRef;
  const received: Alert[] = [];
  const models: string[] = [];

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: Alert[] }).alerts);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`;
    suite = await createSuite('monitor', { monitoring: { alertWebhookUrl: hook } });
    store = new LocalArtifactStore(suite.config.artifacts.dir);
    reference = await storeChurnReference(store, 2000, 1);
    ({ client, close: closeClient } = await connectTestClient(suite.config));
    ({ worker } = await createControlWorker({ config: suite.config, log }));
    running = worker.run();
  });
  after(async () => {
    for (const model of models) {
      await deleteMonitorSchedule(client, model).catch(() => {});
      await client.workflow.getHandle(retrainWorkflowId(model)).terminate('test over').catch(() => {});
    }
    worker?.shutdown();
    await running;
    await closeClient?.();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  /** A model name unique to this suite (schedule and retraining ids are namespace-wide). */
  const modelName = (label: string) => {
    const model = `${label}-${suite.name}`;
    models.push(model);
    return model;
  };
  /** Registers `count` versions of `model` (made-up ONNX refs: nothing is served) and promotes `production`. */
  async function inRegistry(model: string, count: number, production: number): Promise<void> {
    for (let i = 1; i <= count; i++) {
      const ref: ModelRef = { ...FAKE_MODEL, uri: `artifact://${String(i).repeat(64)}`, sha256: String(i).repeat(64) };
      await registerWithStart(client, suite.config.taskQueues.control, model, { model: ref, lineage: { workflowId: 'monitor-test', runId: `run-${i}`, datasets: [] }, by: 'test' });
      await updateRegistry(client, model, 'approve', { version: i, by: 'ana' });
    }
    await updateRegistry(client, model, 'promote', { version: production, by: 'ana' });
  }
  const input = (model: string, o: Partial<MonitorInputDraft> = {}): MonitorInputDraft => ({
    model,
    version: '1',
    reference,
    features: MONITOR_FEATURES,
    windowMinutes: 60,
    sustainedWindows: 2,
    retrain: { pipeline: 'held_retrain', params: { reason: 'drift' } },
    ...o,
  });
  /** Logged predictions half a minute ago: inside the window of every run in the next hour. */
  const logPredictions = (model: string, drift: number, seed: number) =>
    writePredictionLog(store, { model, time: new Date(Date.now() - 30_000), rows: 400, seed, drift });
  const alertsFor = (model: string) => received.filter((a) => a.model === model).map((a) => a.key).sort();

  /** Triggers the schedule and returns the result of the run it started (the n-th of the schedule), which checked its window. */
  async function triggerAndWait(id: string, n: number): Promise<MonitorCheckResult> {
    const result = await triggerAndWaitAny(id, n);
    assert.ok(!('skipped' in result), `run skipped: ${'skipped' in result ? result.skipped : ''}`);
    return result;
  }

  async function triggerAndWaitAny(id: string, n: number): Promise<MonitorRunResult> {
    await triggerSchedule(client, id);
    let workflowId: string | undefined;
    await waitFor(async () => {
      workflowId = (await getSchedule(client, id)).recentRuns[n - 1]?.workflowId;
      return workflowId !== undefined;
    });
    return (await client.workflow.getHandle(workflowId!).result()) as MonitorRunResult;
  }

  async function retrainingRuns(model: string): Promise<string[]> {
    const runs: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${retrainWorkflowId(model)}'` })) runs.push(w.runId);
    return runs;
  }

  test('the monitor schedule fires on its interval; a window without drift raises no alert and starts no retraining', async () => {
    const model = modelName('steady');
    await inRegistry(model, 1, 1);
    await logPredictions(model, 0, 9);
    const created = await createMonitorSchedule(client, suite.config, input(model), { everySeconds: 1 });
    assert.equal(created.id, `monitor/${model}`);
    assert.equal(created.kind, 'monitor');
    await waitFor(async () => (await getSchedule(client, created.id)).recentRuns.length >= 2);
    await deleteMonitorSchedule(client, model);
    await waitFor(async () => (await readState(model)).windows.length >= 2);
    const state = await readState(model);
    assert.deepEqual(
      state.windows.slice(0, 2).map((w) => [w.rows, w.drifted, w.driftedFeatures]),
      [
        [400, false, []],
        [400, false, []],
      ],
    );
    assert.equal(state.streak, 0);
    assert.deepEqual(state.alerts, { active: {} });
    assert.equal(state.lastRetraining, undefined);
    assert.deepEqual(alertsFor(model), []);
    assert.deepEqual(await retrainingRuns(model), []);
    assert.deepEqual((await listSchedules(client, suite.config)).filter((s) => s.target === model), []);
  });

  test('sustained drift starts exactly one retraining run, even when the schedule fires again before it ends; alerts go out once', async () => {
    const model = modelName('drifting');
    await inRegistry(model, 1, 1);
    await logPredictions(model, 0.8, 8);
    const { id } = await createMonitorSchedule(client, suite.config, input(model), { everySeconds: 3600 });

    const first = await triggerAndWait(id, 1);
    assert.deepEqual([first.window.drifted, first.window.driftedFeatures, first.streak, first.retraining], [true, ['tenure_months', 'monthly_charges', 'contract'], 1, undefined]);
    const second = await triggerAndWait(id, 2);
    assert.equal(second.retraining?.started, true);
    assert.equal(second.retraining?.workflowId, retrainWorkflowId(model));
    assert.equal(second.retraining?.reason, 'drift in 2 consecutive windows (tenure_months, monthly_charges, contract)');

    // The retraining run is held open while the schedule fires twice more: drift is sustained again.
    const third = await triggerAndWait(id, 3);
    const fourth = await triggerAndWait(id, 4);
    assert.deepEqual([third.streak, third.retraining], [1, undefined]);
    assert.deepEqual([fourth.retraining?.started, fourth.retraining?.runId], [false, second.retraining?.runId]);
    assert.deepEqual(await retrainingRuns(model), [second.retraining?.runId]);

    // Four drifted windows, one alert per ongoing problem.
    assert.deepEqual(alertsFor(model), [
      `drift/${model}/dataset`,
      `drift/${model}/feature/contract`,
      `drift/${model}/feature/monthly_charges`,
      `drift/${model}/feature/tenure_months`,
    ]);
    assert.deepEqual([first, second, third, fourth].map((r) => r.alertsSent.length), [4, 0, 0, 0]);

    const retraining = client.workflow.getHandle(retrainWorkflowId(model));
    await retraining.signal('finish');
    assert.deepEqual((await retraining.result()).result, { reason: 'drift', rows: 100 });
    const state = await readState(model);
    assert.equal(state.lastReport?.sha256, fourth.window.report?.sha256);
  });

  test('a window without predictions gives no verdict and no alert', async () => {
    const model = modelName('quiet');
    await inRegistry(model, 1, 1);
    const { id } = await createMonitorSchedule(client, suite.config, input(model), { everySeconds: 3600 });
    const run = await triggerAndWait(id, 1);
    assert.deepEqual([run.window.rows, run.window.drifted, run.window.report, run.alertsSent, run.streak], [0, undefined, undefined, [], 0]);
    assert.deepEqual(alertsFor(model), []);
  });

  test('performance below threshold on delayed labels starts retraining at once', async () => {
    const model = modelName('mislabelled');
    await inRegistry(model, 1, 1);
    const logFile = await logPredictions(model, 0, 9);
    // Ground truth that contradicts every logged prediction: accuracy 0.
    const groundTruth = join(suite.dir, `${model}-labels.parquet`);
    await withDuckDB((db) => db.run(`COPY (SELECT requestId, 1 - label AS label FROM read_parquet(${sqlString(logFile)})) TO ${sqlString(groundTruth)} (FORMAT parquet)`));
    const { id } = await createMonitorSchedule(
      client,
      suite.config,
      input(model, { performance: { groundTruth, thresholds: { accuracy: 0.7 } }, sustainedWindows: 5 }),
      { everySeconds: 3600 },
    );
    const run = await triggerAndWait(id, 1);
    assert.deepEqual([run.window.drifted, run.window.performanceBreaches], [false, ['accuracy']]);
    assert.deepEqual([run.retraining?.started, run.retraining?.reason], [true, 'performance below threshold: accuracy']);
    assert.deepEqual(alertsFor(model), [`performance/${model}/accuracy`]);
    await client.workflow.getHandle(retrainWorkflowId(model)).signal('finish');
  });

  test('a run for a version that is no longer production checks nothing and says why', async () => {
    const model = modelName('replaced');
    await inRegistry(model, 2, 1);
    await updateRegistry(client, model, 'promote', { version: 2, by: 'ana' });
    await logPredictions(model, 0.8, 8);
    const { id } = await createMonitorSchedule(client, suite.config, input(model), { everySeconds: 3600 });
    const run = await triggerAndWaitAny(id, 1);
    assert.deepEqual(run, {
      model,
      version: '1',
      skipped: 'v1 is not production (v2 is production): no drift check, alert or retraining for a version that no longer serves',
    });
    assert.equal(await store.getNamed(monitorStateKey(model)), undefined);
    assert.deepEqual(alertsFor(model), []);
  });

  test('a run for a model with no registry checks nothing and says why', async () => {
    const model = modelName('unregistered');
    const { id } = await createMonitorSchedule(client, suite.config, input(model), { everySeconds: 3600 });
    const run = await triggerAndWaitAny(id, 1);
    assert.equal('skipped' in run ? run.skipped : undefined, 'v1 is not production (the model has no registry): no drift check, alert or retraining for a version that no longer serves');
  });

  test('creating the monitor schedule again updates it in place with the new version', async () => {
    const model = modelName('promoted');
    await createMonitorSchedule(client, suite.config, input(model), { everySeconds: 3600 });
    const updated = await createMonitorSchedule(client, suite.config, input(model, { version: '2' }), { everySeconds: 7200 });
    assert.deepEqual([updated.id, updated.everySeconds], [`monitor/${model}`, 7200]);
    const description = await client.schedule.getHandle(`monitor/${model}`).describe();
    assert.equal((description.action.args?.[0] as MonitorInputDraft).version, '2');
  });

  test('rejects monitor input that does not fit, naming the field', async () => {
    await assert.rejects(
      createMonitorSchedule(client, suite.config, input('bad/name')),
      /monitor input: model: letters, digits, _ \. - \(it becomes part of ids and store keys\)/,
    );
  });

  async function readState(model: string): Promise<MonitorState> {
    const raw = await store.getNamed(monitorStateKey(model));
    assert.ok(raw, `no monitor state for ${model}`);
    return MonitorState.parse(JSON.parse(raw.toString('utf8')));
  }
});

const FAKE_MODEL: ModelRef = {
  kind: 'model',
  uri: `artifact://${'a'.repeat(64)}`,
  sha256: 'a'.repeat(64),
  bytes: 1234,
  format: 'onnx',
  features: [{ name: 'tenure', type: 'numeric' }],
  label: 'churned',
  trainer: 'fixture',
  createdAt: '2026-01-01T00:00:00.000Z',
};

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
