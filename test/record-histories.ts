// `npm run record-histories [-- approval|canary ...]`: records the workflow histories that
// test/integration/history-replay.test.ts replays against the current workflow code (all groups, or
// the ones named). Re-record only on purpose (see test/fixtures/histories/README.md): a replay
// failure usually means a change would break runs already waiting at a gate or rolling out.
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createRegistryActivities } from '../activities/registry-activities.js';
import { controlRollout } from '../cli/rollouts.js';
import { APPROVAL_HANDLERS, type ApprovalState } from '../lib/approval-contracts.js';
import { LocalArtifactStore } from '../lib/artifact-store.js';
import { CANARY_HANDLERS } from '../lib/canary-contracts.js';
import { createLogger } from '../lib/logger.js';
import { PROJECT_ROOT } from '../lib/project-root.js';
import { registryWorkflowId } from '../lib/registry-contracts.js';
import { ApiKeys } from '../serving/auth.js';
import { createServingActivities } from '../serving/control-activities.js';
import { startServingPool } from '../serving/pool.js';
import { createControlWorker } from '../workers/control-worker.js';
import { logisticModel } from './fixtures/onnx-models.js';
import { writeHistoryFile } from './history-files.js';
import { canaryHarness } from './integration/canary-harness.js';
import { startStandaloneStack } from './standalone-stack.js';

const OUT = join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
const say = (line: string) => process.stderr.write(`[record] ${line}\n`);
const log = createLogger({ level: 'warn' });
const GROUPS = ['approval', 'canary'] as const;
const named = process.argv.slice(2);
for (const g of named) if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`unknown history group "${g}"; expected one of ${GROUPS.join(', ')}`);
const wanted = (g: (typeof GROUPS)[number]) => named.length === 0 || named.includes(g);

const { config, client, stop } = await startStandaloneStack(say);
try {
  const { worker, connection } = await createControlWorker({ config, log, activities: createRegistryActivities({ log }) });
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

  /** Waits until a workflow task has completed after the run's last signal. */
  const handled = async (handle: WorkflowHandle) => {
    for (;;) {
      const events = (await handle.fetchHistory()).events ?? [];
      const signaled = events.map((e) => Boolean(e.workflowExecutionSignaledEventAttributes)).lastIndexOf(true);
      if (signaled >= 0 && events.slice(signaled).some((e) => e.workflowTaskCompletedEventAttributes)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  if (wanted('approval')) {
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

  }

  if (wanted('canary')) {
    // A canary rollout promoted through two steps, paused at the first past its analysis time (and
    // sent an ignored second pause) and resumed, against a real serving pool in this process
    // taking traffic.
    const store = new LocalArtifactStore(config.artifacts.dir);
    const pool = await startServingPool({ config: { ...config.serving, threads: 1, assignmentPollMs: 200, statsPublishMs: 200 }, store, keys: new ApiKeys([]), log, port: 0 });
    const serving = await Worker.create({ connection, namespace: config.temporal.namespace, taskQueue: config.taskQueues.serving, activities: createServingActivities(pool.control, log) });
    const servingRun = serving.run();
    try {
      const h = canaryHarness({ client, config, store, url: pool.url });
      const model = 'recorded-canary';
      const { v2 } = await h.twoVersions(model, logisticModel());
      const load = h.traffic(model);
      try {
        const handle = await h.start(model, v2, { steps: [50, 100], interval: '1s', minRequests: 5, maxWaitForRequests: '30s', thresholds: { p99SlackMs: 1000 } });
        await h.waitForState(model, (s) => s.weight === 50);
        const paused = await controlRollout(client, model, 'pause', { by: 'ana', reason: 'recorded pause' }, 2);
        // Paused past the step's analysis time: the timer fires into the paused wait.
        await new Promise((r) => setTimeout(r, Date.parse(paused.nextAnalysisAt!) - Date.now() + 1000));
        await handle.signal(CANARY_HANDLERS.pause, { by: 'bo' });
        await handled(handle); // ignored (already paused) before the resume, or it would pause again
        await controlRollout(client, model, 'resume', { by: 'ana' }, 2);
        const result = await handle.result();
        if (result.outcome !== 'promoted') throw new Error(`the recorded rollout was not promoted: ${result.reason}`);
        await save('canary-promoted', handle);
      } finally {
        await load.stop();
      }
    } finally {
      serving.shutdown();
      await servingRun;
      await pool.close();
    }
  }

  worker.shutdown();
  await running;
} finally {
  await stop();
}
