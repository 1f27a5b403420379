// The stack as a user runs it: `plumb up`, `plumb run … --wait --json`, `plumb down`, and a
// control worker killed with SIGKILL in the middle of a step.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { freePort } from '../../lib/dev-server.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { isAlive } from '../../cli/stack-commands.js';
import { readStackState } from '../../cli/stack.js';
import { type PipelineStatus, STATUS_QUERY } from '../../lib/pipeline-contracts.js';
import { type Suite, type WorkerProcess, connectTestClient, createSuite, startWorkerProcess } from './harness.js';

const run = promisify(execFile);
const plumb = (suite: Suite, ...args: string[]) =>
  run(process.execPath, [join(PROJECT_ROOT, 'bin', 'plumb.js'), '--config', suite.file, ...args], { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 });

describe('plumb up / run / down', () => {
  let suite: Suite;
  let pids: number[] = [];

  before(async () => {
    const host = '127.0.0.1';
    suite = await createSuite('stack', {
      devServer: {
        host,
        frontendPort: await freePort(),
        uiPort: await freePort(),
        metricsPort: await freePort(),
      },
      serving: { host, port: await freePort() },
      controlWorker: { metricsPort: await freePort() },
    });
  });
  after(async () => {
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  test('up starts the stack, run --wait --json prints the result, down leaves no process behind', async () => {
    await plumb(suite, 'up');
    const state = await readStackState(suite.config);
    assert.ok(state?.ready);
    pids = [state.pid, ...state.children.map((c) => c.pid)];
    assert.deepEqual(state.children.map((c) => c.name).sort(), ['control-worker', 'serving-pool', 'temporal-server']);

    const { stdout } = await plumb(suite, 'run', 'churn', '--param', 'rows=5000', '--auto-approve', '--wait', '--json');
    const out = JSON.parse(stdout) as { pipeline: string; result: { rows: number; version: number; production: boolean; decision: { by: string } } };
    assert.equal(out.pipeline, 'churn');
    assert.equal(out.result.rows, 5000);
    assert.deepEqual([out.result.version, out.result.production, out.result.decision.by], [1, true, 'auto']);

    const metrics = await fetch(`http://127.0.0.1:${suite.config.controlWorker.metricsPort}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /plumb_worker_process_cpu_seconds_total/);

    // The promoted version is what the serving pool answers with.
    const instance = {
      tenure_months: 3, monthly_charges: 95, total_charges: 285, support_calls: 4, log_usage_gb: 2.1, senior_citizen: 0,
      avg_monthly_spend: 95, contract: 'month-to-month', payment_method: 'electronic_check', internet_service: 'fiber', region: 'north',
    };
    const predicted = JSON.parse((await plumb(suite, 'predict', 'churn', '--json', JSON.stringify([instance]))).stdout) as {
      version: string;
      predictions: { label: number; probabilities: number[] }[];
    };
    assert.equal(predicted.version, '1');
    assert.equal(predicted.predictions.length, 1);

    await assert.rejects(plumb(suite, 'dev'), (err: { stderr: string }) => {
      assert.match(err.stderr, new RegExp(`port.* already in use: ${suite.config.devServer.frontendPort} \\(devServer.frontendPort`));
      return true;
    });

    await plumb(suite, 'down');
    assert.deepEqual(pids.filter(isAlive), []);
    assert.equal(await readStackState(suite.config), undefined);
  });
});

describe('control worker killed mid-step', () => {
  let suite: Suite;
  const workers: WorkerProcess[] = [];
  before(async () => (suite = await createSuite('sigkill')));
  after(async () => {
    for (const w of workers) await w.stop();
  });

  test('a new worker finishes the run with the same result as an uninterrupted run', async () => {
    const { client, close } = await connectTestClient(suite.config);
    try {
      const params = { rows: 50_000, seed: 7, promote: false, modelName: `churn-${suite.name}` };
      workers.push(await startWorkerProcess(suite, 'control'));
      const first = await client.workflow.start('churn', {
        taskQueue: suite.config.taskQueues.control,
        workflowId: `churn-killed-${Date.now()}`,
        args: [{ params, cache: false, autoApprove: true }],
      });
      // Wait until GBDT training runs, then kill the worker in its middle.
      const deadline = Date.now() + 180_000;
      while (!(await first.query<PipelineStatus>(STATUS_QUERY)).steps.some((s) => s.step === 'train gbdt' && s.status === 'running')) {
        assert.ok(Date.now() < deadline, 'training did not start in time');
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 500));
      await workers[0]!.kill('SIGKILL');
      workers.push(await startWorkerProcess(suite, 'control'));
      const interrupted = await first.result();

      const second = await client.workflow.execute('churn', {
        taskQueue: suite.config.taskQueues.control,
        workflowId: `churn-uninterrupted-${Date.now()}`,
        args: [{ params, cache: false, autoApprove: true }],
      });
      assert.equal(interrupted.result.rows, 50_000);
      // Same content, object for object: features, the profile, the model's sha256, the metrics.
      // Left out: the model card (it records when and how long training ran), the decision's
      // time, and the version number (the second run registers the next version).
      const same = (r: typeof interrupted.result) => withoutTimes({ rows: r.rows, features: r.features, profile: r.profile, model: r.model, metrics: r.metrics, baseline: r.baseline, gate: r.gate });
      assert.deepEqual(same(interrupted.result), same(second.result));
      assert.equal(second.result.version, interrupted.result.version + 1);
      const history = await first.fetchHistory();
      const retried = history.events?.some((e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1);
      assert.ok(retried, 'the training activity ran a second attempt on the new worker');
    } finally {
      await close();
    }
  });
});

function withoutTimes(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'createdAt' ? undefined : v)));
}
