import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { createRegistryActivities } from '../../activities/registry-activities.js';
import { PlumbError } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { queryRegistry, registerWithStart, updateRegistry } from '../../lib/registry-client.js';
import { type ModelVersion, type RegisterInput, type RegistryHistory, type RegistryListing, registryWorkflowId } from '../../lib/registry-contracts.js';
import { type InProcessWorker, type Suite, createSuite, startInProcessWorker } from './harness.js';

const log = createLogger({ level: 'warn' });
const FIXTURE_PIPELINES = join(PROJECT_ROOT, 'test', 'fixtures', 'pipelines');

const registration = (run: string, sha = 'b'.repeat(64)): RegisterInput => ({
  model: {
    kind: 'model',
    uri: `artifact://${sha}`,
    sha256: sha,
    bytes: 2048,
    format: 'onnx',
    features: [{ name: 'tenure', type: 'numeric' }],
    label: 'churned',
    trainer: 'fixture',
    createdAt: '2026-01-01T00:00:00.000Z',
  },
  lineage: { workflowId: `churn-${run}`, runId: `run-${run}`, datasets: [] },
  metrics: { rocAuc: 0.9 },
  by: 'pipeline',
});

describe('model registry', () => {
  let suite: Suite;
  let client: Client;
  let stack: InProcessWorker;

  before(async () => {
    suite = await createSuite('registry', { pipelines: { dirs: [FIXTURE_PIPELINES] } });
    stack = await startInProcessWorker(suite, createRegistryActivities({ log }));
    client = stack.client;
  });
  after(async () => {
    await stack?.stop();
  });

  const newModel = () => `m${randomUUID().slice(0, 8)}`;
  const register = (model: string, run: string, options: { continueAsNewAfterEvents?: number } = {}) =>
    registerWithStart(client, suite.config.taskQueues.control, model, registration(run), options);
  const snapshot = async (model: string) => ({
    list: await queryRegistry<RegistryListing>(client, model, 'list'),
    history: await queryRegistry<RegistryHistory>(client, model, 'history'),
  });
  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PlumbError, `expected a PlumbError, got ${String(err)}`);
    return { kind: err.kind, message: err.message };
  };

  test('numbers versions and gives a run that registers twice its first version back', async () => {
    const model = newModel();
    assert.deepEqual(await register(model, 'a'), { model, version: 1, created: true });
    assert.deepEqual(await register(model, 'b'), { model, version: 2, created: true });
    assert.deepEqual(await register(model, 'a'), { model, version: 1, created: false });
    const { list } = await snapshot(model);
    assert.deepEqual(
      list.versions.map((v) => [v.version, v.status, v.aliases]),
      [
        [1, 'registered', []],
        [2, 'registered', ['candidate']],
      ],
    );
  });

  test('refuses to promote a rejected version, with the reason, and leaves the state unchanged', async () => {
    const model = newModel();
    await register(model, 'a');
    await updateRegistry(client, model, 'reject', { version: 1, by: 'ana', comment: 'AUC too low' });
    const before = await snapshot(model);
    assert.deepEqual(await refusal(updateRegistry(client, model, 'promote', { version: 1, by: 'ana' })), {
      kind: 'Conflict',
      message: `cannot promote ${model} version 1: it is rejected; only a registered and approved version can be promoted`,
    });
    assert.deepEqual(await snapshot(model), before);
  });

  test('refuses to promote a version that was registered but never approved', async () => {
    const model = newModel();
    await register(model, 'a');
    assert.deepEqual(await refusal(updateRegistry(client, model, 'promote', { version: 1, by: 'ana' })), {
      kind: 'Conflict',
      message: `cannot promote ${model} version 1: it is registered; only a registered and approved version can be promoted`,
    });
  });

  test('refuses a rollback when there is no previous production version, and leaves the state unchanged', async () => {
    const model = newModel();
    await register(model, 'a');
    await updateRegistry(client, model, 'approve', { version: 1, by: 'ana' });
    await updateRegistry(client, model, 'promote', { version: 1, by: 'ana' });
    const before = await snapshot(model);
    assert.deepEqual(await refusal(updateRegistry(client, model, 'rollback', { by: 'ana' })), {
      kind: 'Conflict',
      message: `cannot roll back ${model}: version 1 is production and there is no previous production version`,
    });
    assert.deepEqual(await snapshot(model), before);
  });

  test('refuses a change to a version that does not exist', async () => {
    const model = newModel();
    await register(model, 'a');
    assert.deepEqual(await refusal(updateRegistry(client, model, 'approve', { version: 7, by: 'ana' })), {
      kind: 'NotFound',
      message: `model ${model} has no version 7 (versions 1-1)`,
    });
  });

  test('keeps one production version, rolls back to the previous one, and answers which was production at a time', async () => {
    const model = newModel();
    for (const run of ['a', 'b']) {
      const { version } = await register(model, run);
      await updateRegistry(client, model, 'approve', { version, by: 'ana' });
      await updateRegistry(client, model, 'promote', { version, by: 'ana' });
    }
    const rolledBack = await updateRegistry<ModelVersion>(client, model, 'rollback', { by: 'bo', comment: 'errors in v2' });
    assert.equal(rolledBack.version, 1);
    const { list, history } = await snapshot(model);
    assert.deepEqual(
      list.versions.map((v) => [v.version, v.status, v.aliases]),
      [
        [1, 'production', ['production']],
        [2, 'archived', []],
      ],
    );
    const periods = history.productionHistory;
    assert.deepEqual(
      periods.map((p) => [p.version, p.to !== undefined]),
      [
        [1, true],
        [2, true],
        [1, false],
      ],
    );
    const at = (iso: string, deltaMs: number) => new Date(Date.parse(iso) + deltaMs).toISOString();
    const productionAt = (time: string) => queryRegistry<number | null>(client, model, 'productionAt', time);
    assert.equal(await productionAt(at(periods[0]!.from, -1)), null);
    assert.equal(await productionAt(periods[0]!.from), 1);
    assert.equal(await productionAt(periods[1]!.from), 2);
    assert.equal(await productionAt(at(periods[1]!.to!, -1)), 2);
    assert.equal(await productionAt(periods[2]!.from), 1);
    assert.equal(await productionAt('2999-01-01T00:00:00.000Z'), 1);
    assert.deepEqual(
      history.decisions.map((d) => [d.version, d.action, d.by]),
      [
        [1, 'register', 'pipeline'],
        [1, 'approve', 'ana'],
        [1, 'promote', 'ana'],
        [2, 'register', 'pipeline'],
        [2, 'approve', 'ana'],
        [1, 'archive', 'ana'],
        [2, 'promote', 'ana'],
        [2, 'archive', 'bo'],
        [1, 'rollback', 'bo'],
      ],
    );
  });

  test('refuses to register into a registry that was terminated, instead of starting an empty one', async () => {
    const model = newModel();
    await register(model, 'a');
    await client.workflow.getHandle(registryWorkflowId(model)).terminate('test');
    const refused = await refusal(register(model, 'b'));
    assert.equal(refused.kind, 'Conflict');
    assert.match(refused.message, new RegExp(`^the registry workflow model/${model} is closed`));
  });

  test('continues as new before its history grows large and keeps every version and decision', async () => {
    const model = newModel();
    const first = await register(model, 'a', { continueAsNewAfterEvents: 10 });
    assert.equal(first.version, 1);
    for (const run of ['b', 'c', 'd', 'e']) await register(model, run);
    await updateRegistry(client, model, 'approve', { version: 3, by: 'ana', comment: 'ok' });
    const runs: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${registryWorkflowId(model)}'` })) runs.push(w.runId);
    assert.ok(runs.length > 1, `expected the registry to have continued as new, found ${runs.length} run(s)`);
    const { list } = await snapshot(model);
    assert.deepEqual(
      list.versions.map((v) => [v.version, v.status]),
      [
        [1, 'registered'],
        [2, 'registered'],
        [3, 'approved'],
        [4, 'registered'],
        [5, 'registered'],
      ],
    );
    const v3 = await queryRegistry<ModelVersion>(client, model, 'get', 3);
    assert.deepEqual(
      v3.decisions.map((d) => [d.action, d.by, d.comment]),
      [
        ['register', 'pipeline', undefined],
        ['approve', 'ana', 'ok'],
      ],
    );
  });
});
