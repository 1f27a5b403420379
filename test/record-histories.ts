// `npm run record-histories`: records the workflow histories that test/integration/history-replay.test.ts
// replays against the current workflow code. Re-record only on purpose (see
// test/fixtures/histories/README.md): a replay failure usually means a change would break runs
// already waiting at a gate.
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { createRegistryActivities } from '../activities/registry-activities.js';
import { APPROVAL_HANDLERS, type ApprovalState } from '../lib/approval-contracts.js';
import { createLogger } from '../lib/logger.js';
import { PROJECT_ROOT } from '../lib/project-root.js';
import { registryWorkflowId } from '../lib/registry-contracts.js';
import { createControlWorker } from '../workers/control-worker.js';
import { writeHistoryFile } from './history-files.js';
import { startStandaloneStack } from './standalone-stack.js';

const OUT = join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
const say = (line: string) => process.stderr.write(`[record] ${line}\n`);
const log = createLogger({ level: 'warn' });

const { config, client, stop } = await startStandaloneStack(say);
try {
  const { worker } = await createControlWorker({ config, log, activities: createRegistryActivities({ log }) });
  const running = worker.run();
  const save = async (name: string, handle: WorkflowHandle) => {
    await writeHistoryFile(join(OUT, `${name}.json`), await handle.fetchHistory());
    say(`wrote test/fixtures/histories/${name}.json`);
  };
  const start = (id: string, params: Record<string, unknown>) =>
    client.workflow.start('gated', { taskQueue: config.taskQueues.control, workflowId: id, args: [{ params }] });
  const atGate = async (handle: WorkflowHandle) => {
    while (!(await handle.query<ApprovalState | null>(APPROVAL_HANDLERS.state).catch(() => null))) await new Promise((r) => setTimeout(r, 100));
  };

  // Waiting at the gate, after a signal from someone not on the allow-list was ignored.
  const gated = await start('gated-recorded', { model: 'recorded', approvers: ['ana'] });
  await atGate(gated);
  await gated.signal(APPROVAL_HANDLERS.approve, { by: 'mallory' });
  while ((await gated.query<ApprovalState>(APPROVAL_HANDLERS.state)).ignored.length === 0) await new Promise((r) => setTimeout(r, 100));
  await save('gate-waiting', gated);
  // The same run, approved by Update and finished.
  await gated.executeUpdate(APPROVAL_HANDLERS.approve, { args: [{ by: 'ana', comment: 'recorded approval' }] });
  await gated.result();
  await save('gate-finished', gated);
  // A run rejected by its timeout, after reminders.
  const timedOut = await start('gated-recorded-timeout', { model: 'recorded', sha256: 'c'.repeat(64), approvers: ['ana'], timeout: '2 seconds', reminderEvery: '1 second' });
  await timedOut.result();
  await save('gate-timeout', timedOut);
  // The registry after promotions and a rollback.
  const registry = client.workflow.getHandle(registryWorkflowId('recorded'));
  await registry.executeUpdate('promote', { args: [{ version: 1, by: 'ana' }] });
  const third = await start('gated-recorded-3', { model: 'recorded', sha256: 'd'.repeat(64), approvers: ['ana'] });
  await atGate(third);
  await third.signal(APPROVAL_HANDLERS.approve, { by: 'ana' });
  await third.result();
  await registry.executeUpdate('promote', { args: [{ version: 3, by: 'ana' }] });
  await registry.executeUpdate('rollback', { args: [{ by: 'ana', comment: 'recorded rollback' }] });
  await save('registry', registry);

  worker.shutdown();
  await running;
} finally {
  await stop();
}
