import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { controlRollout } from '../../cli/rollouts.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import type { CanaryPolicyInput } from '../../lib/canary-contracts.js';
import { freePort } from '../../lib/dev-server.js';
import { queryRegistry } from '../../lib/registry-client.js';
import type { ModelVersion } from '../../lib/registry-contracts.js';
import { logisticModel } from '../fixtures/onnx-models.js';
import { type CanaryHarness, canaryHarness } from './canary-harness.js';
import { type InProcessWorker, type Suite, type WorkerProcess, createSuite, startInProcessWorker, startWorkerProcess } from './harness.js';

// Short steps: each takes up to 10 s to reach a metrics bucket boundary, its interval, and the 10 s
// the pool's buckets need to settle.
const FAST: CanaryPolicyInput = {
  steps: [50, 100],
  interval: '3s',
  minRequests: 40,
  maxWaitForRequests: '30s',
  // Seven models share one small pool on a busy machine, so p99s of tens of milliseconds are noise
  // here; only the slow-candidate test judges latency, with the default thresholds.
  thresholds: { p99SlackMs: 1000 },
};
// About 160 ms a request on an idle core (18× the matrix work of `{ slowSize: 512, slowRepeats: 8 }`),
// against well under 1 ms for stable: the candidate's p99 stays many times the stable one's (tens of times
// in runs on the shared 2-core machine) even when the pool's noise inflates the stable p99.
const SLOW = { slowSize: 1024, slowRepeats: 18 };

describe('canary rollout against a real serving pool under load', { concurrency: true }, () => {
  let suite: Suite;
  let serving: WorkerProcess;
  let control: InProcessWorker;
  let client: Client;
  let url: string;
  let h: CanaryHarness;

  before(async () => {
    const port = await freePort();
    suite = await createSuite('canary', { serving: { host: '127.0.0.1', port, threads: 2, assignmentPollMs: 200, statsPublishMs: 200 } });
    url = `http://127.0.0.1:${port}`;
    serving = await startWorkerProcess(suite, 'serving');
    control = await startInProcessWorker(suite);
    client = control.client;
    h = canaryHarness({ client, config: suite.config, store: new LocalArtifactStore(suite.config.artifacts.dir), url });
  });

  after(async () => {
    await control?.stop();
    await serving?.stop();
  });

  test('a good candidate passes every step and is promoted and served as stable', async () => {
    const model = 'canary-good';
    const { v2 } = await h.twoVersions(model, logisticModel());
    const load = h.traffic(model);
    try {
      const result = await (await h.start(model, v2, FAST)).result();
      assert.equal(result.outcome, 'promoted', result.reason);
      assert.equal(result.reason, 'all 2 steps passed');
      assert.deepEqual(result.analyses.map((a) => [a.weight, a.verdict]).filter(([, v]) => v !== 'inconclusive'), [[50, 'pass'], [100, 'pass']]);
      assert.equal(result.serving, '2');
      assert.equal(await h.status(model, 2), 'production');
      assert.deepEqual(Object.keys(await h.servedAfter(load)), ['2']);
      assert.equal(load.failed(), 0);
    } finally {
      await load.stop();
    }
  });

  test('a candidate with shifted predictions is rolled back by the prediction-shift check', async () => {
    const model = 'canary-shifted';
    const { v2 } = await h.twoVersions(model, logisticModel({ shift: 2 }));
    const load = h.traffic(model);
    try {
      const result = await (await h.start(model, v2, FAST)).result();
      assert.equal(result.outcome, 'rolledBack');
      const last = result.analyses[result.analyses.length - 1]!;
      assert.deepEqual([last.weight, last.verdict, last.failedCheck], [50, 'fail', 'predictionShift'], last.reason);
      assert.ok(last.predictionPsi! > 0.5, `PSI ${last.predictionPsi}`);
      assert.equal(result.reason, `canary failed at step 50 %: ${last.reason}`);
      assert.equal(await h.status(model, 2), 'rejected');
      assert.equal(await h.status(model, 1), 'production');
      assert.deepEqual(Object.keys(await h.servedAfter(load)), ['1']);
    } finally {
      await load.stop();
    }
  });

  test('in a shadow phase a shifted candidate is caught before it answers any request', async () => {
    const model = 'canary-shadow';
    const { v2 } = await h.twoVersions(model, logisticModel({ shift: 2 }));
    const load = h.traffic(model);
    try {
      const result = await (await h.start(model, v2, { ...FAST, shadow: { duration: '3s' } })).result();
      assert.equal(result.outcome, 'rolledBack');
      const last = result.analyses[result.analyses.length - 1]!;
      assert.deepEqual([last.phase, last.verdict, last.failedCheck], ['shadow', 'fail', 'predictionShift'], last.reason);
      assert.equal(result.reason, `canary failed at shadow phase: ${last.reason}`);
      assert.deepEqual(Object.keys(load.versions()), ['1']);
    } finally {
      await load.stop();
    }
  });

  test('a candidate that errors on part of the inputs is rolled back by the error-rate check', async () => {
    const model = 'canary-errors';
    const { v2 } = await h.twoVersions(model, logisticModel({ failOnPoison: true }));
    const load = h.traffic(model, { poison: true });
    try {
      const result = await (await h.start(model, v2, FAST)).result();
      assert.equal(result.outcome, 'rolledBack');
      const last = result.analyses[result.analyses.length - 1]!;
      assert.deepEqual([last.weight, last.verdict, last.failedCheck], [50, 'fail', 'errorRate']);
      assert.equal(last.stable.errorRate, 0);
      assert.equal(await h.status(model, 2), 'rejected');
    } finally {
      await load.stop();
    }
  });

  test('a much slower candidate is rolled back at its first step by the latency check, the p99s in the reason', async (t) => {
    const model = 'canary-slow';
    const { v2 } = await h.twoVersions(model, logisticModel(SLOW));
    const load = h.traffic(model);
    try {
      // Default latency thresholds (p99 ratio 1.5, slack 5 ms); few requests so that the first step decides.
      const result = await (await h.start(model, v2, { ...FAST, minRequests: 20, thresholds: {} })).result();
      assert.equal(result.outcome, 'rolledBack', result.reason);
      const last = result.analyses[result.analyses.length - 1]!;
      assert.deepEqual([last.weight, last.verdict, last.failedCheck], [50, 'fail', 'latency'], last.reason);
      assert.match(
        last.reason,
        /^latency: candidate p99 \d+\.\d ms vs stable \d+\.\d ms, ratio \d+\.\d\d > 1\.5; \d+\.\d\d % of candidate requests slower than the stable p99 \(stable: \d+\.\d\d %\), χ² p = /,
      );
      assert.ok(last.latencyPValue! < 0.001, last.reason);
      assert.ok(last.p99Ratio! > 1.5, last.reason);
      assert.equal(result.reason, `canary failed at step 50 %: ${last.reason}`);
      const rejected = await queryRegistry<ModelVersion>(client, model, 'get', 2);
      assert.equal(rejected.status, 'rejected');
      assert.deepEqual(rejected.decisions.map((d) => [d.action, d.by, d.comment]).at(-1), ['reject', 'canary', result.reason]);
      assert.deepEqual(Object.keys(await h.servedAfter(load)), ['1']);
      t.diagnostic(`candidate p99 ${last.candidate.p99Ms} ms over ${last.candidate.requests} requests, stable p99 ${last.stable.p99Ms} ms over ${last.stable.requests}`);
    } finally {
      await load.stop();
    }
  });

  test('abort rolls back at once and rejects the candidate with who and why', async () => {
    const model = 'canary-abort';
    const { v2 } = await h.twoVersions(model, logisticModel());
    const load = h.traffic(model);
    try {
      const handle = await h.start(model, v2, { ...FAST, interval: '10 minutes' });
      await h.waitForState(model, (s) => s.weight === 50);
      const state = await controlRollout(client, model, 'abort', { by: 'ana', reason: 'saw errors' });
      assert.equal(state.status, 'aborted');
      const result = await handle.result();
      assert.deepEqual([result.outcome, result.reason, result.serving], ['aborted', 'aborted by ana: saw errors', '1']);
      assert.equal(await h.status(model, 2), 'rejected');
      assert.deepEqual(Object.keys(await h.servedAfter(load)), ['1']);
    } finally {
      await load.stop();
    }
  });

  test('pause holds the weights until resume; promote-now promotes', async () => {
    const model = 'canary-pause';
    const { v2 } = await h.twoVersions(model, logisticModel());
    const load = h.traffic(model);
    try {
      const handle = await h.start(model, v2, { ...FAST, interval: '1s' });
      await h.waitForState(model, (s) => s.weight === 50);
      const paused = await controlRollout(client, model, 'pause', { by: 'ana' }, 2);
      assert.equal(paused.status, 'paused');
      await assert.rejects(controlRollout(client, model, 'pause', { by: 'ana' }, 2), /pause refused: the rollout of canary-pause v2 is already paused/);
      // Past the time the step was to be analysed: a running rollout would have moved on by now.
      await new Promise((r) => setTimeout(r, Date.parse(paused.nextAnalysisAt!) - Date.now() + 2000));
      const held = await h.waitForState(model, () => true);
      assert.deepEqual([held.status, held.step, held.weight, held.analyses.length], ['paused', 0, 50, 0]);
      assert.equal((await controlRollout(client, model, 'resume', { by: 'ana' }, 2)).status, 'running');
      await h.waitForState(model, (s) => s.analyses.length > 0);
      const state = await controlRollout(client, model, 'promote-now', { by: 'bo', reason: 'looks fine' }, 2);
      assert.equal(state.status, 'promoted');
      const result = await handle.result();
      assert.deepEqual([result.outcome, result.reason], ['promoted', 'promoted by bo: looks fine']);
      assert.equal(await h.status(model, 2), 'production');
      assert.deepEqual(Object.keys(await h.servedAfter(load)), ['2']);
    } finally {
      await load.stop();
    }
  });
});
