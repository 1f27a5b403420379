import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { canaryWorkflowId } from '../../lib/canary-contracts.js';
import { freePort } from '../../lib/dev-server.js';
import { logisticModel } from '../fixtures/onnx-models.js';
import { canaryHarness } from './canary-harness.js';
import { type Suite, type WorkerProcess, connectTestClient, createSuite, startWorkerProcess } from './harness.js';

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

test('a rollout whose control worker is SIGKILLed mid-step resumes at the same step: no step repeated or skipped', async () => {
  const h = canaryHarness({ client, suite, store: new LocalArtifactStore(suite.config.artifacts.dir), url });
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
    assert.equal(load.failed(), 0);
  } finally {
    await load.stop();
  }
});
