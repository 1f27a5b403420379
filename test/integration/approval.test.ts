import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createRegistryActivities } from '../../activities/registry-activities.js';
import { APPROVAL_HANDLERS, type ApprovalDecision, type ApprovalState } from '../../lib/approval-contracts.js';
import { createLogger } from '../../lib/logger.js';
import { SEARCH_ATTRIBUTES } from '../../lib/pipeline-contracts.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { queryRegistry } from '../../lib/registry-client.js';
import type { ModelVersion } from '../../lib/registry-contracts.js';
import { createControlWorker } from '../../workers/control-worker.js';
import { type Suite, connectTestClient, createSuite } from './harness.js';

const log = createLogger({ level: 'error' });
const FIXTURE_PIPELINES = join(PROJECT_ROOT, 'test', 'fixtures', 'pipelines');

interface GatedResult {
  result: { version: number; decision: ApprovalDecision };
}

describe('approval gate', () => {
  let suite: Suite;
  let client: Client;
  let closeClient: () => Promise<void>;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;

  const startWorker = async () => {
    ({ worker } = await createControlWorker({ config: suite.config, log, activities: createRegistryActivities({ log }) }));
    running = worker.run();
  };
  const stopWorker = async () => {
    worker?.shutdown();
    await running;
    worker = undefined;
  };

  before(async () => {
    suite = await createSuite('approval', { pipelines: { dirs: [FIXTURE_PIPELINES] } });
    ({ client, close: closeClient } = await connectTestClient(suite.config));
    await startWorker();
  });
  after(async () => {
    await stopWorker();
    await closeClient?.();
  });

  const start = async (params: Record<string, unknown> = {}, autoApprove = false) => {
    const model = `m${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.start('gated', {
      taskQueue: suite.config.taskQueues.control,
      workflowId: `gated-${model}`,
      args: [{ params: { model, approvers: ['ana', 'bo'], ...params }, autoApprove }],
    });
    return { model, handle };
  };
  const atGate = async (handle: ReturnType<Client['workflow']['getHandle']>) => {
    await waitFor(async () => (await handle.query<ApprovalState | null>(APPROVAL_HANDLERS.state)) !== null);
    return handle.query<ApprovalState>(APPROVAL_HANDLERS.state);
  };
  const registryVersion = (model: string) => queryRegistry<ModelVersion>(client, model, 'get', 1);

  test('continues when an approver approves by Update, and records the decision in the registry', async () => {
    const { model, handle } = await start();
    await atGate(handle);
    assert.equal((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.awaitingApproval), true);
    const answer = await handle.executeUpdate<ApprovalDecision, [unknown]>(APPROVAL_HANDLERS.approve, { args: [{ by: 'ana', comment: 'looks good' }] });
    assert.deepEqual([answer.approved, answer.by, answer.comment, answer.via], [true, 'ana', 'looks good', 'update']);
    const { result } = (await handle.result()) as GatedResult;
    assert.deepEqual(result.decision, answer);
    assert.equal((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.awaitingApproval), false);
    const v = await registryVersion(model);
    assert.equal(v.status, 'approved');
    assert.deepEqual(v.decisions.at(-1), { action: 'approve', by: 'ana', at: answer.at, comment: 'looks good' });
  });

  test('refuses an Update from someone not on the allow-list, with the reason, and keeps waiting unchanged', async () => {
    const { model, handle } = await start();
    const before = await atGate(handle);
    const err = await handle.executeUpdate(APPROVAL_HANDLERS.approve, { args: [{ by: 'mallory' }] }).then(
      () => assert.fail('expected the update to be refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowUpdateFailedError);
    assert.equal(err.cause?.message, `approve refused: mallory is not an approver of ${model} (approvers: ana, bo)`);
    assert.deepEqual(await handle.query(APPROVAL_HANDLERS.state), before);
    assert.equal((await registryVersion(model)).status, 'registered');
    await handle.executeUpdate(APPROVAL_HANDLERS.reject, { args: [{ by: 'bo', comment: 'not now' }] });
    const { result } = (await handle.result()) as GatedResult;
    assert.deepEqual([result.decision.approved, result.decision.by], [false, 'bo']);
    assert.equal((await registryVersion(model)).status, 'rejected');
  });

  test('ignores a Signal from someone not on the allow-list with a warning, and keeps waiting', async () => {
    const { model, handle } = await start();
    await atGate(handle);
    await handle.signal(APPROVAL_HANDLERS.approve, { by: 'mallory', comment: 'let me in' });
    await waitFor(async () => (await handle.query<ApprovalState>(APPROVAL_HANDLERS.state)).ignored.length === 1);
    const state = await handle.query<ApprovalState>(APPROVAL_HANDLERS.state);
    assert.equal(state.decision, undefined);
    assert.deepEqual(
      state.ignored.map((i) => [i.action, i.reason]),
      [['approve', `mallory is not an approver of ${model} (approvers: ana, bo)`]],
    );
    assert.equal((await handle.describe()).status.name, 'RUNNING');
    assert.equal((await registryVersion(model)).status, 'registered');
    await handle.signal(APPROVAL_HANDLERS.approve, { by: 'bo' });
    const { result } = (await handle.result()) as GatedResult;
    assert.deepEqual([result.decision.approved, result.decision.by, result.decision.via], [true, 'bo', 'signal']);
  });

  test('takes into account an approval sent while no worker is running, once a worker starts', async () => {
    const { model, handle } = await start();
    await atGate(handle);
    await stopWorker();
    await handle.signal(APPROVAL_HANDLERS.approve, { by: 'ana', comment: 'approved during the outage' });
    await startWorker();
    const { result } = (await handle.result()) as GatedResult;
    assert.deepEqual([result.decision.approved, result.decision.by, result.decision.comment], [true, 'ana', 'approved during the outage']);
    const v = await registryVersion(model);
    assert.equal(v.status, 'approved');
    assert.equal(v.decisions.filter((d) => d.action === 'approve').length, 1);
  });

  test('rejects automatically at the timeout, reminding while it waits, and records the reason', async () => {
    const { model, handle } = await start({ timeout: '3 seconds', reminderEvery: '1 second' });
    const { result } = (await handle.result()) as GatedResult;
    assert.deepEqual(result.decision, {
      approved: false,
      by: 'plumb',
      comment: 'no decision within 3 seconds: rejected automatically',
      at: result.decision.at,
      via: 'timeout',
    });
    const v = await registryVersion(model);
    assert.equal(v.status, 'rejected');
    assert.equal(v.decisions.at(-1)?.comment, 'no decision within 3 seconds: rejected automatically');
    const history = await handle.fetchHistory();
    const timers = history.events?.filter((e) => e.timerStartedEventAttributes) ?? [];
    assert.equal(timers.length, 3, 'two reminders, then the deadline');
    assert.equal((await handle.query<ApprovalState>(APPROVAL_HANDLERS.state)).reminders, 2);
  });

  test('approves as the user auto when the run says so, and the pipeline can then promote the version', async () => {
    const { model, handle } = await start({ promote: true }, true);
    const { result } = (await handle.result()) as GatedResult;
    assert.deepEqual([result.decision.approved, result.decision.by, result.decision.via], [true, 'auto', 'auto']);
    const v = await registryVersion(model);
    assert.equal(v.status, 'production');
    assert.deepEqual(
      v.decisions.map((d) => [d.action, d.by]),
      [
        ['register', 'plumb'],
        ['approve', 'auto'],
        ['promote', 'gated'],
      ],
    );
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
