import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { createRegistryActivities } from '../../activities/registry-activities.js';
import { createRetireActivities } from '../../activities/retire-activities.js';
import type { ModelListing, PendingApproval, ProductionChange } from '../../cli/registry.js';
import type { ApprovalDecision } from '../../lib/approval-contracts.js';
import { createLogger } from '../../lib/logger.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import type { ModelVersion, RegistryHistory, RegistryListing } from '../../lib/registry-contracts.js';
import { type InProcessWorker, type Suite, createSuite, startInProcessWorker } from './harness.js';

const log = createLogger({ level: 'error' });
const FIXTURE_PIPELINES = join(PROJECT_ROOT, 'test', 'fixtures', 'pipelines');
const run = promisify(execFile);

describe('plumb models, promote, rollback, retire, approve, reject, pending', () => {
  let suite: Suite;
  let client: Client;
  let stack: InProcessWorker;

  before(async () => {
    suite = await createSuite('registry-cli', { pipelines: { dirs: [FIXTURE_PIPELINES] } });
    stack = await startInProcessWorker(suite, { ...createRegistryActivities({ log }), ...createRetireActivities({ log }) });
    client = stack.client;
  });
  after(async () => {
    await stack?.stop();
  });

  const plumb = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    run(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test', 'fixtures', 'registry-cli.ts'), '--config', suite.file, ...args], { cwd: PROJECT_ROOT }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await plumb(...args, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };

  test('approves a waiting run from the CLI, refusing someone not on the allow-list with the reason', async () => {
    const model = `m${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.start('gated', {
      taskQueue: suite.config.taskQueues.control,
      workflowId: `gated-${model}`,
      args: [{ params: { model, approvers: ['ana'] } }],
    });
    let pending: PendingApproval[] = [];
    for (let i = 0; i < 100 && !pending.some((p) => p.gate?.model === model); i++) {
      pending = await json<PendingApproval[]>('pending');
      await new Promise((r) => setTimeout(r, 200));
    }
    const mine = pending.find((p) => p.gate?.model === model);
    assert.deepEqual([mine?.workflowId, mine?.gate?.version, mine?.gate?.approvers], [handle.workflowId, 1, ['ana']]);

    const refused = await plumb('approve', model, '1', '--by', 'mallory');
    assert.deepEqual([refused.code, refused.stderr], [1, `plumb: approve refused: mallory is not an approver of ${model} (approvers: ana)\n`]);
    const wrong = await plumb('approve', model, '2', '--by', 'ana');
    assert.deepEqual(
      [wrong.code, wrong.stderr],
      [1, `plumb: no run is waiting for approval of ${model} v2 (\`plumb pending\` lists the runs that are)\n`],
    );

    const approved = await json<{ workflowId: string; decision: ApprovalDecision }>('approve', model, '1', '--by', 'ana', '--comment', 'ship it');
    assert.deepEqual([approved.workflowId, approved.decision.by, approved.decision.comment, approved.decision.via], [handle.workflowId, 'ana', 'ship it', 'update']);
    await handle.result();

    const shown = await json<ModelVersion>('models', 'show', model, '1');
    assert.deepEqual(
      shown.decisions.map((d) => [d.action, d.by, d.comment]),
      [
        ['register', 'plumb', undefined],
        ['approve', 'ana', 'ship it'],
      ],
    );
  });

  test('promotes, refuses a rollback with no previous production version, and shows the history', async () => {
    const model = `m${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.start('gated', {
      taskQueue: suite.config.taskQueues.control,
      workflowId: `gated-${model}`,
      args: [{ params: { model, approvers: ['ana'] }, autoApprove: true }],
    });
    await handle.result();

    const badVersion = await plumb('promote', model, 'latest');
    assert.deepEqual([badVersion.code, badVersion.stderr], [1, 'plumb: version "latest": expected a positive whole number, e.g. 3\n']);
    // No serving pool in this suite: only the registry alias moves.
    const promoted = await json<ProductionChange>('promote', model, '1', '--by', 'bo', '--no-deploy');
    assert.deepEqual([promoted.version, promoted.status, promoted.deployment], [1, 'production', undefined]);
    const rollback = await plumb('rollback', model, '--by', 'bo');
    assert.deepEqual(
      [rollback.code, rollback.stderr],
      [1, `plumb: cannot roll back ${model}: version 1 is production and there is no previous production version\n`],
    );

    const listing = await json<RegistryListing>('models', 'show', model);
    assert.deepEqual(listing.aliases, { production: 1 });
    const all = await json<ModelListing[]>('models', 'list');
    assert.deepEqual(all.find((l) => l.model === model), listing);
    const history = await json<RegistryHistory>('models', 'history', model);
    assert.deepEqual(
      history.decisions.map((d) => [d.version, d.action, d.by]),
      [
        [1, 'register', 'plumb'],
        [1, 'approve', 'auto'],
        [1, 'promote', 'bo'],
      ],
    );
    const human = await plumb('models', 'history', model);
    assert.match(human.stdout, new RegExp(`^${model}\\n`));

    const unknown = await plumb('models', 'show', `${model}x`);
    assert.deepEqual([unknown.code, unknown.stderr], [1, `plumb: no model named ${model}x (no version was ever registered)\n`]);
  });

  test('refuses to retire a model with no production version, or an unknown one, and changes nothing', async () => {
    const model = `m${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.start('gated', {
      taskQueue: suite.config.taskQueues.control,
      workflowId: `gated-${model}`,
      args: [{ params: { model, approvers: ['ana'] }, autoApprove: true }],
    });
    await handle.result();
    const before = await json<RegistryHistory>('models', 'history', model);

    const notProduction = await plumb('models', 'retire', model, '--by', 'bo');
    assert.deepEqual([notProduction.code, notProduction.stderr], [1, `plumb: cannot retire ${model}: no version is in production (none ever was)\n`]);
    assert.deepEqual(await json<RegistryHistory>('models', 'history', model), before);

    const unknown = await plumb('models', 'retire', `${model}x`, '--by', 'bo');
    assert.deepEqual([unknown.code, unknown.stderr], [1, `plumb: no model named ${model}x (no version was ever registered)\n`]);
  });
});
