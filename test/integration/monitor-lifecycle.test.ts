import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Client, ScheduleNotFoundError } from '@temporalio/client';
import { promoteAndDeploy, retireAndUndeploy, rollbackAndDeploy } from '../../cli/registry.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { PlumbError } from '../../lib/errors.js';
import { freePort } from '../../lib/dev-server.js';
import { type MonitorInputDraft, MonitorPlan, type MonitorRunResult, monitorPlanKey, monitorScheduleId } from '../../lib/monitor-contracts.js';
import { SEARCH_ATTRIBUTES } from '../../lib/pipeline-contracts.js';
import { queryRegistry, registerWithStart, updateRegistry } from '../../lib/registry-client.js';
import type { RegistryListing } from '../../lib/registry-contracts.js';
import type { DatasetRef, ModelRef } from '../../lib/refs.js';
import { deleteMonitorSchedule, getSchedule } from '../../lib/schedules.js';
import type { DeployResult } from '../../workflows/deploy.js';
import { CHURN_FEATURES, logisticModel, modelRefOf } from '../fixtures/onnx-models.js';
import { MONITOR_FEATURES, storeChurnReference } from '../support/prediction-log-fixture.js';
import { type InProcessWorker, type Suite, type WorkerProcess, createSuite, startInProcessWorker, startWorkerProcess } from './harness.js';
import { row } from './serving-harness.js';

interface MonitoredResult {
  result: { version: number; deployment: DeployResult; schedule?: string };
  steps: { step: string; summary?: string }[];
}

describe('the monitor schedule follows production (real serving pool)', () => {
  let suite: Suite;
  let serving: WorkerProcess;
  let control: InProcessWorker;
  let client: Client;
  let store: LocalArtifactStore;
  let url: string;
  let reference: DatasetRef;
  const refs: ModelRef[] = [];
  const models: string[] = [];

  before(async () => {
    const port = await freePort();
    suite = await createSuite('monlife', { serving: { host: '127.0.0.1', port, threads: 1, assignmentPollMs: 200, statsPublishMs: 200 } });
    url = `http://127.0.0.1:${port}`;
    store = new LocalArtifactStore(suite.config.artifacts.dir);
    reference = await storeChurnReference(store, 500, 1);
    // Three distinct models, one per version a test registers.
    for (const shift of [0, 0.5, 1]) {
      const bytes = logisticModel({ shift });
      await store.put(bytes);
      refs.push(modelRefOf(bytes, CHURN_FEATURES));
    }
    serving = await startWorkerProcess(suite, 'serving');
    control = await startInProcessWorker(suite);
    client = control.client;
  });
  after(async () => {
    for (const model of models) await deleteMonitorSchedule(client, model).catch(() => {});
    await control?.stop();
    await serving?.stop();
  });

  /** A model name unique to this suite (schedule ids are namespace-wide). */
  const modelName = (label: string) => {
    const model = `${label}-${suite.name}`;
    models.push(model);
    return model;
  };
  const plan = (): Omit<MonitorInputDraft, 'model' | 'version'> => ({
    reference,
    features: MONITOR_FEATURES,
    windowMinutes: 60,
    retrain: { pipeline: 'held_retrain', params: {} },
  });
  /** The `monitored` fixture pipeline: register, approve, promote (served) and, with `everySeconds`, step.monitor. */
  const pipeline = async (model: string, ref: ModelRef, everySeconds?: number): Promise<MonitoredResult['result'] & { steps: MonitoredResult['steps'] }> => {
    const run = await client.workflow.execute('monitored', {
      taskQueue: suite.config.taskQueues.control,
      workflowId: `monitored-${model}-${ref.sha256.slice(0, 8)}`,
      args: [{ params: { model, ref, ...(everySeconds ? { monitor: plan(), everySeconds } : {}) }, servingTaskQueue: suite.config.taskQueues.serving }],
    });
    return { ...(run as MonitoredResult).result, steps: (run as MonitoredResult).steps };
  };
  /** A version registered and approved outside any pipeline, so nothing stored a monitor plan for it. */
  const registerApproved = async (model: string, ref: ModelRef, run: string): Promise<number> => {
    const { version } = await registerWithStart(client, suite.config.taskQueues.control, model, { model: ref, lineage: { workflowId: 'monlife-test', runId: run, datasets: [] }, by: 'test' });
    await updateRegistry(client, model, 'approve', { version, by: 'ana' });
    return version;
  };
  /** The version `monitor/<model>` runs for, or undefined when there is no such schedule. */
  const watched = async (model: string): Promise<string | undefined> => {
    try {
      const d = await client.schedule.getHandle(monitorScheduleId(model)).describe();
      return (d.action.args?.[0] as MonitorInputDraft).version;
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return undefined;
      throw err;
    }
  };
  const predict = async (model: string): Promise<{ status: number; version?: string; error?: string }> => {
    const res = await fetch(`${url}/v1/models/${model}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [row(1)] }) });
    const body = (await res.json()) as { version?: string; error?: string };
    return { status: res.status, ...(body.version ? { version: body.version } : {}), ...(body.error ? { error: body.error } : {}) };
  };
  const ana = { by: 'ana' };

  test('a pipeline that promotes and then schedules monitoring gets a schedule that fires: its run finds no predictions in a quiet window', async () => {
    const model = modelName('fired');
    const result = await pipeline(model, refs[0]!, 1);
    assert.equal(result.schedule, `monitor/${model}`);
    assert.deepEqual(
      result.steps.map((s) => [s.step, s.summary]),
      [
        ['register', 'v1'],
        ['approve', undefined],
        ['promote', `${model} v1 is production`],
        ['deploy', `${model} v1 serves all traffic`],
        ['monitor', `schedule monitor/${model} for v1, every 1 s`],
      ],
    );
    // step.promote ran first: no plan was stored for v1 yet, so there was no schedule to point.
    assert.deepEqual([result.deployment.monitor.schedule, result.deployment.monitor.reason], ['absent', 'no monitor schedule: v1 has no stored monitor plan (it was never scheduled with step.monitor)']);
    const stored = MonitorPlan.parse(JSON.parse((await store.getNamed(monitorPlanKey(model, 1)))!.toString('utf8')));
    assert.deepEqual([stored.monitor.model, stored.monitor.version, stored.everySeconds], [model, '1', 1]);

    let first: string | undefined;
    await waitFor(async () => (first = (await getSchedule(client, monitorScheduleId(model))).recentRuns[0]?.workflowId) !== undefined);
    const run = (await client.workflow.getHandle(first!).result()) as MonitorRunResult;
    await deleteMonitorSchedule(client, model);
    assert.ok(!('skipped' in run), 'skipped' in run ? run.skipped : '');
    assert.deepEqual([run.model, run.window.rows, run.window.drifted, run.alertsSent, run.streak], [model, 0, undefined, [], 0]);
  });

  test('a promotion outside a pipeline removes the schedule of the old version; a rollback points it back at the earlier version’s stored plan', async () => {
    const model = modelName('rolled');
    await pipeline(model, refs[0]!, 3600);
    assert.equal(await watched(model), '1');

    const v2 = await registerApproved(model, refs[1]!, 'v2');
    const promoted = await promoteAndDeploy(client, suite.config, model, { version: v2, ...ana });
    assert.deepEqual([promoted.version, promoted.deployment?.monitor.schedule], [2, 'removed']);
    assert.equal(promoted.deployment?.monitor.reason, `monitor/${model} removed: v2 has no stored monitor plan (it was never scheduled with step.monitor)`);
    assert.equal(await watched(model), undefined);
    assert.deepEqual(await predict(model), { status: 200, version: '2' });

    const back = await rollbackAndDeploy(client, suite.config, model, ana);
    assert.deepEqual([back.version, back.deployment?.monitor.schedule], [1, 'updated']);
    assert.equal(await watched(model), '1');
    assert.equal((await getSchedule(client, monitorScheduleId(model))).everySeconds, 3600);
    assert.deepEqual(await predict(model), { status: 200, version: '1' });
  });

  test('a rollback to a version without a stored plan removes the monitor schedule', async () => {
    const model = modelName('unplanned');
    const v1 = await registerApproved(model, refs[0]!, 'v1');
    const first = await promoteAndDeploy(client, suite.config, model, { version: v1, ...ana });
    assert.equal(first.deployment?.monitor.schedule, 'absent');
    await pipeline(model, refs[1]!, 3600);
    assert.equal(await watched(model), '2');

    const back = await rollbackAndDeploy(client, suite.config, model, ana);
    assert.deepEqual([back.version, back.deployment?.monitor.schedule], [1, 'removed']);
    assert.equal(await watched(model), undefined);
    assert.deepEqual(await predict(model), { status: 200, version: '1' });
  });

  test('retiring a model archives its production version, the pools stop serving it and its monitor schedule is removed', async () => {
    const model = modelName('retired');
    await pipeline(model, refs[0]!, 3600);
    assert.deepEqual(await predict(model), { status: 200, version: '1' });

    const retired = await retireAndUndeploy(client, suite.config, model, { by: 'ana', comment: 'product discontinued' });
    assert.deepEqual([retired.version, retired.monitor], [1, { scheduleId: `monitor/${model}`, removed: true }]);
    assert.deepEqual(await predict(model), { status: 404, error: `model ${model} is not served here` });
    assert.equal(await watched(model), undefined);
    const listing = await queryRegistry<RegistryListing>(client, model, 'list');
    assert.deepEqual([listing.aliases, listing.versions.map((v) => v.status)], [{}, ['archived']]);

    // Retiring again is refused by the registry and changes nothing.
    await assert.rejects(retireAndUndeploy(client, suite.config, model, { by: 'ana' }), (err: unknown) => {
      assert.ok(err instanceof PlumbError);
      assert.equal(err.kind, 'Conflict');
      assert.match(err.message, new RegExp(`^cannot retire ${model}: no version is in production \\(v1 was, until \\d{4}-`));
      return true;
    });
    assert.deepEqual(await queryRegistry<RegistryListing>(client, model, 'list'), listing);
  });

  test('retiring is refused while a canary rollout of the model runs, and changes nothing', async () => {
    const model = modelName('rolling');
    await pipeline(model, refs[0]!, 3600);
    // A rollout as visibility lists it: a canaryRollout run for the model (on a queue no worker polls, so it just stays running).
    const rollout = await client.workflow.start('canaryRollout', {
      taskQueue: `unpolled-${suite.name}`,
      workflowId: `canary/${model}/v2`,
      args: [{}],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: model }],
    });
    try {
      const running = `WorkflowType = 'canaryRollout' AND ExecutionStatus = 'Running' AND ${SEARCH_ATTRIBUTES.model.name} = '${model}'`;
      await waitFor(async () => (await client.workflow.count(running)).count === 1);
      await assert.rejects(retireAndUndeploy(client, suite.config, model, { by: 'ana' }), (err: unknown) => {
        assert.ok(err instanceof PlumbError);
        assert.deepEqual([err.kind, err.message], ['Conflict', `cannot retire ${model}: a canary rollout is running (canary/${model}/v2); abort it first (plumb rollout abort ${model})`]);
        return true;
      });
      assert.deepEqual((await queryRegistry<RegistryListing>(client, model, 'list')).aliases, { production: 1 });
      assert.equal(await watched(model), '1');
      assert.deepEqual(await predict(model), { status: 200, version: '1' });
    } finally {
      await rollout.terminate('test over');
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
