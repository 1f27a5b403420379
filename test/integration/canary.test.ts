import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { controlRollout } from '../../cli/rollouts.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { CANARY_HANDLERS, type CanaryInput, type CanaryPolicyInput, type CanaryResult, type CanaryState, canaryWorkflowId } from '../../lib/canary-contracts.js';
import { freePort } from '../../lib/dev-server.js';
import { createLogger } from '../../lib/logger.js';
import { queryRegistry, registerWithStart, updateRegistry } from '../../lib/registry-client.js';
import type { ModelVersion } from '../../lib/registry-contracts.js';
import type { ModelRef } from '../../lib/refs.js';
import { createControlWorker } from '../../workers/control-worker.js';
import type { DeployInput, DeployResult } from '../../workflows/deploy.js';
import { CHURN_FEATURES, POISON_CATEGORY, logisticModel, modelRefOf } from '../fixtures/onnx-models.js';
import { type Suite, type WorkerProcess, connectTestClient, createSuite, startWorkerProcess } from './harness.js';
import { row } from './serving-harness.js';

// Short steps: each takes its interval plus the 10 s the pool's metric buckets need to settle.
const FAST: CanaryPolicyInput = {
  steps: [50, 100],
  interval: '3s',
  minRequests: 40,
  maxWaitForRequests: '30s',
  // Six models share one small pool on a busy machine, so p99s of tens of milliseconds are noise
  // here; only the slow-candidate test judges latency, with a tighter slack.
  thresholds: { p99SlackMs: 1000 },
};

describe('canary rollout against a real serving pool under load', { concurrency: true }, () => {
  let suite: Suite;
  let serving: WorkerProcess;
  let worker: Worker;
  let running: Promise<void>;
  let client: Client;
  let closeClient: () => Promise<void>;
  let url: string;
  let store: LocalArtifactStore;

  before(async () => {
    const port = await freePort();
    suite = await createSuite('canary', { serving: { host: '127.0.0.1', port, threads: 2, assignmentPollMs: 200, statsPublishMs: 200 } });
    url = `http://127.0.0.1:${port}`;
    store = new LocalArtifactStore(suite.config.artifacts.dir);
    serving = await startWorkerProcess(suite, 'serving');
    ({ worker } = await createControlWorker({ config: suite.config, log: createLogger({ level: 'error', write: () => {} }) }));
    running = worker.run();
    ({ client, close: closeClient } = await connectTestClient(suite.config));
  });

  after(async () => {
    worker?.shutdown();
    await running;
    await closeClient?.();
    await serving?.stop();
  });

  /** v1 registered, approved, promoted and served; v2 registered and approved. */
  async function twoVersions(model: string, candidate: Uint8Array): Promise<{ v2: ModelRef }> {
    const refs: ModelRef[] = [];
    for (const [i, bytes] of [logisticModel(), candidate].entries()) {
      await store.put(bytes);
      const ref = modelRefOf(bytes, CHURN_FEATURES);
      refs.push(ref);
      await registerWithStart(client, suite.config.taskQueues.control, model, { model: ref, lineage: { workflowId: 'canary-test', runId: `run-${i}`, datasets: [] }, by: 'test' });
      await updateRegistry(client, model, 'approve', { version: i + 1, by: 'ana' });
    }
    await updateRegistry(client, model, 'promote', { version: 1, by: 'ana' });
    await client.workflow.execute<(i: DeployInput) => Promise<DeployResult>>('deployModel', {
      taskQueue: suite.config.taskQueues.control,
      workflowId: `deploy/${model}/v1/test`,
      args: [{ model, version: 1, ref: refs[0]!, servingTaskQueue: suite.config.taskQueues.serving }],
    });
    return { v2: refs[1]! };
  }

  /** Sends predictions one after another until stopped; every fifth row is a poison row when asked. */
  function traffic(model: string, o: { poison?: boolean } = {}) {
    let stop = false;
    const versions = new Map<string, number>();
    let failed = 0;
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        // Random rows: every window sees the same distribution of inputs.
        const r = row(Math.floor(Math.random() * 7200));
        const instance = o.poison && i % 5 === 0 ? { ...r, contract: POISON_CATEGORY } : r;
        const res = await fetch(`${url}/v1/models/${model}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [instance] }) });
        const body = (await res.json()) as { version?: string };
        if (res.ok && body.version) versions.set(body.version, (versions.get(body.version) ?? 0) + 1);
        else failed += 1;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    return {
      failed: () => failed,
      /** Counts answers per version from now on. */
      reset: () => versions.clear(),
      versions: () => Object.fromEntries(versions),
      stop: async () => {
        stop = true;
        await loop;
      },
    };
  }

  const start = (model: string, v2: ModelRef, policy: CanaryPolicyInput) =>
    client.workflow.start<(i: CanaryInput) => Promise<CanaryResult>>('canaryRollout', {
      taskQueue: suite.config.taskQueues.control,
      workflowId: canaryWorkflowId(model, 2),
      args: [{ model, candidate: { version: 2, ref: v2 }, stable: 1, policy, servingTaskQueue: suite.config.taskQueues.serving }],
    });

  const status = async (model: string, version: number) => (await queryRegistry<ModelVersion>(client, model, 'get', version)).status;

  async function waitForState(model: string, ok: (s: CanaryState) => boolean): Promise<CanaryState> {
    const handle = client.workflow.getHandle(canaryWorkflowId(model, 2));
    for (;;) {
      const s = await handle.query<CanaryState>(CANARY_HANDLERS.state);
      if (ok(s)) return s;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The version answering all of a short burst of requests after the rollout ended. */
  async function servedAfter(load: ReturnType<typeof traffic>): Promise<Record<string, number>> {
    await new Promise((r) => setTimeout(r, 500)); // the pool polls the assignment every 200 ms
    load.reset();
    await new Promise((r) => setTimeout(r, 1000));
    return load.versions();
  }

  test('a good candidate passes every step and is promoted and served as stable', async () => {
    const model = 'canary-good';
    const { v2 } = await twoVersions(model, logisticModel());
    const load = traffic(model);
    try {
      const result = await (await start(model, v2, FAST)).result();
      assert.equal(result.outcome, 'promoted', result.reason);
      assert.equal(result.reason, 'all 2 steps passed');
      assert.deepEqual(result.analyses.map((a) => [a.weight, a.verdict]).filter(([, v]) => v !== 'inconclusive'), [[50, 'pass'], [100, 'pass']]);
      assert.equal(result.serving, '2');
      assert.equal(await status(model, 2), 'production');
      assert.deepEqual(Object.keys(await servedAfter(load)), ['2']);
      assert.equal(load.failed(), 0);
    } finally {
      await load.stop();
    }
  });

  test('a candidate with shifted predictions is rolled back by the prediction-shift check', async () => {
    const model = 'canary-shifted';
    const { v2 } = await twoVersions(model, logisticModel({ shift: 2 }));
    const load = traffic(model);
    try {
      const result = await (await start(model, v2, FAST)).result();
      assert.equal(result.outcome, 'rolledBack');
      const last = result.analyses[result.analyses.length - 1]!;
      assert.deepEqual([last.weight, last.verdict, last.failedCheck], [50, 'fail', 'predictionShift'], last.reason);
      assert.ok(last.predictionPsi! > 0.5, `PSI ${last.predictionPsi}`);
      assert.equal(result.reason, `canary failed at step 50 %: ${last.reason}`);
      assert.equal(await status(model, 2), 'rejected');
      assert.equal(await status(model, 1), 'production');
      assert.deepEqual(Object.keys(await servedAfter(load)), ['1']);
    } finally {
      await load.stop();
    }
  });

  test('a candidate that errors on part of the inputs is rolled back by the error-rate check', async () => {
    const model = 'canary-errors';
    const { v2 } = await twoVersions(model, logisticModel({ failOnPoison: true }));
    const load = traffic(model, { poison: true });
    try {
      const result = await (await start(model, v2, FAST)).result();
      assert.equal(result.outcome, 'rolledBack');
      const last = result.analyses[result.analyses.length - 1]!;
      assert.deepEqual([last.weight, last.verdict, last.failedCheck], [50, 'fail', 'errorRate']);
      assert.equal(last.stable.errorRate, 0);
      assert.equal(await status(model, 2), 'rejected');
    } finally {
      await load.stop();
    }
  });

  test('a much slower candidate is rolled back by the latency check', async () => {
    const model = 'canary-slow';
    // About 16× the work of the 8 ms fixture per row: far beyond the noise of this busy pool.
    const { v2 } = await twoVersions(model, logisticModel({ slowSize: 1024, slowRepeats: 16 }));
    const load = traffic(model);
    try {
      const result = await (await start(model, v2, { ...FAST, thresholds: { p99SlackMs: 50 } })).result();
      assert.equal(result.outcome, 'rolledBack');
      const last = result.analyses[result.analyses.length - 1]!;
      assert.deepEqual([last.weight, last.verdict, last.failedCheck], [50, 'fail', 'latency'], last.reason);
      assert.equal(await status(model, 2), 'rejected');
    } finally {
      await load.stop();
    }
  });

  test('abort rolls back at once and rejects the candidate with who and why', async () => {
    const model = 'canary-abort';
    const { v2 } = await twoVersions(model, logisticModel());
    const load = traffic(model);
    try {
      const handle = await start(model, v2, { ...FAST, interval: '10 minutes' });
      await waitForState(model, (s) => s.weight === 50);
      const state = await controlRollout(client, model, 'abort', { by: 'ana', reason: 'saw errors' });
      assert.equal(state.status, 'aborted');
      const result = await handle.result();
      assert.deepEqual([result.outcome, result.reason, result.serving], ['aborted', 'aborted by ana: saw errors', '1']);
      assert.equal(await status(model, 2), 'rejected');
      assert.deepEqual(Object.keys(await servedAfter(load)), ['1']);
    } finally {
      await load.stop();
    }
  });

  test('pause holds the weights until resume; promote-now promotes', async () => {
    const model = 'canary-pause';
    const { v2 } = await twoVersions(model, logisticModel());
    const load = traffic(model);
    try {
      const handle = await start(model, v2, { ...FAST, interval: '1s' });
      await waitForState(model, (s) => s.weight === 50);
      assert.equal((await controlRollout(client, model, 'pause', { by: 'ana' }, 2)).status, 'paused');
      await assert.rejects(controlRollout(client, model, 'pause', { by: 'ana' }, 2), /pause refused: the rollout of canary-pause v2 is already paused/);
      // Longer than the step's interval plus the settle time: a running rollout would have moved on.
      await new Promise((r) => setTimeout(r, 13_000));
      const held = await waitForState(model, () => true);
      assert.deepEqual([held.status, held.step, held.weight, held.analyses.length], ['paused', 0, 50, 0]);
      assert.equal((await controlRollout(client, model, 'resume', { by: 'ana' }, 2)).status, 'running');
      await waitForState(model, (s) => s.analyses.length > 0);
      const state = await controlRollout(client, model, 'promote-now', { by: 'bo', reason: 'looks fine' }, 2);
      assert.equal(state.status, 'promoted');
      const result = await handle.result();
      assert.deepEqual([result.outcome, result.reason], ['promoted', 'promoted by bo: looks fine']);
      assert.equal(await status(model, 2), 'production');
      assert.deepEqual(Object.keys(await servedAfter(load)), ['2']);
    } finally {
      await load.stop();
    }
  });
});
