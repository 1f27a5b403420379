import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { canaryWorkflowId } from '../../lib/canary-contracts.js';
import { freePort } from '../../lib/dev-server.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import type { ModelVersion } from '../../lib/registry-contracts.js';
import { logisticModel } from '../fixtures/onnx-models.js';
import { canaryHarness } from './canary-harness.js';
import { type Suite, type WorkerProcess, connectTestClient, createSuite, startWorkerProcess } from './harness.js';

const run = promisify(execFile);
let suite: Suite;
let serving: WorkerProcess;
let control: WorkerProcess | undefined;
let client: Client;
let closeClient: () => Promise<void>;
let url: string;

before(async () => {
  const port = await freePort();
  suite = await createSuite('canary-restart', { serving: { host: '127.0.0.1', port, threads: 2, assignmentPollMs: 200, statsPublishMs: 200 } });
  url = `http://127.0.0.1:${port}`;
  serving = await startWorkerProcess(suite, 'serving');
  control = await startWorkerProcess(suite, 'control');
  ({ client, close: closeClient } = await connectTestClient(suite.config));
});

after(async () => {
  await control?.stop();
  await closeClient?.();
  await serving?.stop();
});

test('a rollout whose control worker is SIGKILLed mid-step resumes at the same step; plumb rollback under load then fails no request', async () => {
  const h = canaryHarness({ client, config: suite.config, store: new LocalArtifactStore(suite.config.artifacts.dir), url });
  const model = 'canary-restart';
  const { v2 } = await h.twoVersions(model, logisticModel());
  const load = h.traffic(model);
  try {
    const handle = await h.start(model, v2, { steps: [50, 100], interval: '3s', minRequests: 40, maxWaitForRequests: '30s', thresholds: { p99SlackMs: 1000 } });
    await h.waitForState(model, (s) => s.weight === 50);
    await control!.kill('SIGKILL');
    control = await startWorkerProcess(suite, 'control');
    const result = await handle.result();
    assert.equal(result.outcome, 'promoted', result.reason);
    assert.deepEqual(result.analyses.filter((a) => a.verdict !== 'inconclusive').map((a) => [a.weight, a.verdict]), [[50, 'pass'], [100, 'pass']]);
    // Routing set once per step (50, 100) and once to promote: nothing redone after the restart.
    const history = await client.workflow.getHandle(canaryWorkflowId(model, 2)).fetchHistory();
    const routed = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'servingSetRouting');
    assert.equal(routed.length, 3);

    const rollback = await run(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test', 'fixtures', 'registry-cli.ts'), '--config', suite.file, 'rollback', model, '--by', 'ana', '--json'], { cwd: PROJECT_ROOT });
    assert.equal((JSON.parse(rollback.stdout) as ModelVersion).version, 1);
    assert.deepEqual(Object.keys(await h.servedAfter(load)), ['1']);
    assert.equal(load.failed(), 0);
  } finally {
    await load.stop();
  }
});
