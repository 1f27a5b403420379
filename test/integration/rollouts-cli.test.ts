import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { RolloutSummary } from '../../cli/rollouts.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import type { CanaryPolicyInput, CanaryState } from '../../lib/canary-contracts.js';
import { freePort } from '../../lib/dev-server.js';
import { logisticModel } from '../fixtures/onnx-models.js';
import { type CanaryHarness, canaryHarness } from './canary-harness.js';
import { type InProcessWorker, type Suite, type WorkerProcess, createSuite, runPlumb, startInProcessWorker, startWorkerProcess } from './harness.js';


// No traffic and a requirement no window meets: the rollout stays at its first step, analysing
// (inconclusive) every second, until the CLI acts on it.
const HOLD: CanaryPolicyInput = { steps: [50, 100], interval: '1s', minRequests: 40, maxWaitForRequests: '10 minutes' };

describe('plumb rollouts and plumb rollout (CLI process) against running canary rollouts', () => {
  let suite: Suite;
  let serving: WorkerProcess;
  let control: InProcessWorker;
  let client: Client;
  let h: CanaryHarness;

  before(async () => {
    const port = await freePort();
    suite = await createSuite('rollouts-cli', { serving: { host: '127.0.0.1', port, threads: 1, assignmentPollMs: 200, statsPublishMs: 200 } });
    serving = await startWorkerProcess(suite, 'serving');
    control = await startInProcessWorker(suite);
    client = control.client;
    h = canaryHarness({ client, config: suite.config, store: new LocalArtifactStore(suite.config.artifacts.dir), url: `http://127.0.0.1:${port}` });
  });

  after(async () => {
    await control?.stop();
    await serving?.stop();
  });

  const plumb = (...args: string[]) => runPlumb(suite, ...args);
  const ok = async (...args: string[]): Promise<string> => {
    const r = await plumb(...args);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const fails = async (args: string[], stderr: string) => assert.deepEqual(await plumb(...args), { code: 1, stdout: '', stderr: `plumb: ${stderr}\n` });
  const listed = async (model: string) => JSON.parse(await ok('rollouts', model, '--json')) as RolloutSummary[];
  /** Visibility lags a workflow's changes by a moment. */
  async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
    for (;;) {
      const v = await read();
      if (done(v)) return v;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  test('lists a running rollout with its step and last analysis, pauses, resumes and aborts it, refusing what does not apply', async () => {
    const model = 'cli-abort';
    const { v2 } = await h.twoVersions(model, logisticModel());
    assert.equal(await ok('rollouts', model), `no canary rollouts of ${model} are running\n`);
    const handle = await h.start(model, v2, HOLD);
    await h.waitForState(model, (s) => s.analyses.length > 0);

    const [summary, ...others] = await until(() => listed(model), (l) => l.length > 0);
    assert.deepEqual(others, []);
    assert.equal(summary!.workflowId, `canary/${model}/v2`);
    const s = summary!.state;
    assert.deepEqual([s.model, s.candidate, s.stable, s.status, s.phase, s.step, s.weight], [model, '2', '1', 'running', 'live', 0, 50]);
    assert.deepEqual(s.analyses.map((a) => [a.verdict, a.reason]).at(-1), ['inconclusive', 'too few candidate requests: 0 < 40']);
    assert.equal(
      await ok('rollouts', model),
      `${model} v2 (stable v1): running, step 1 at 50 %; last analysis: inconclusive: too few candidate requests: 0 < 40\n`,
    );

    await fails(['rollout', 'resume', model], `resume refused: the rollout of ${model} v2 is not paused`);
    assert.equal(await ok('rollout', 'pause', model, '--by', 'ana', '--reason', 'checking dashboards'), `${model} v2: paused at 50 %\n`);
    await fails(['rollout', 'pause', model, '--version', '2', '--by', 'bo'], `pause refused: the rollout of ${model} v2 is already paused`);
    const paused = JSON.parse(await ok('rollout', 'resume', model, '--by', 'ana', '--json')) as CanaryState;
    assert.deepEqual([paused.status, paused.weight, paused.lastAction?.action, paused.lastAction?.by], ['running', 50, 'resume', 'ana']);

    assert.equal(await ok('rollout', 'abort', model, '--version', '2', '--by', 'ana', '--reason', 'not today'), `${model} v2: aborted\n`);
    const result = await handle.result();
    assert.deepEqual([result.outcome, result.reason, result.serving], ['aborted', 'aborted by ana: not today', '1']);
    assert.equal(await h.status(model, 2), 'rejected');
    // A rollout that has ended is named as such, not as a failed call.
    await fails(['rollout', 'promote-now', model, '--version', '2'], `promote-now refused: the rollout of ${model} v2 has already ended (aborted)`);
    await until(() => listed(model), (l) => l.length === 0);
    await fails(['rollout', 'resume', model], `no canary rollout of ${model} is running`);
  });

  test('promote-now promotes the candidate in the registry and on the pool', async () => {
    const model = 'cli-promote';
    const { v2 } = await h.twoVersions(model, logisticModel());
    const handle = await h.start(model, v2, HOLD);
    await h.waitForState(model, (s) => s.weight === 50);
    const state = JSON.parse(await ok('rollout', 'promote-now', model, '--version', '2', '--by', 'bo', '--reason', 'urgent fix', '--json')) as CanaryState;
    assert.deepEqual([state.status, state.weight, state.nextAnalysisAt], ['promoted', 100, undefined]);
    const result = await handle.result();
    assert.deepEqual([result.outcome, result.reason, result.serving], ['promoted', 'promoted by bo: urgent fix', '2']);
    assert.equal(await h.status(model, 2), 'production');
  });

  test('controlling a rollout that does not exist, or with bad arguments, fails naming what is wrong', async () => {
    await fails(['rollout', 'pause', 'no-such-model'], 'no canary rollout of no-such-model is running');
    await fails(['rollout', 'abort', 'no-such-model', '--version', '3'], 'no canary rollout of no-such-model v3 (workflow canary/no-such-model/v3) exists');
    await fails(['rollout', 'pause', 'no-such-model', '--version', 'two'], '--version: "two" is not a version number');
    await fails(['rollout', 'pause', 'Not A Model!'], 'model: "Not A Model!" is not a model name');
    assert.equal(await ok('rollouts', 'no-such-model', '--json'), '[]\n');
  });
});
