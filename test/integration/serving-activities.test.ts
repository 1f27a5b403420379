import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { LoadVersionResult, MetricsReport } from '../../lib/serving.js';
import { createServingActivities } from '../../serving/control-activities.js';
import { logisticModel, logisticProbability, unloadableModel } from '../fixtures/onnx-models.js';
import { call, makeStack, row, silentLog, startPool, storeModel } from './serving-harness.js';

test('the plumb-serving activities load, route, report and refuse with typed failures', async () => {
  const stack = await makeStack();
  const pool = await startPool(stack);
  try {
    const activities = createServingActivities(pool.control, silentLog);
    const env = new MockActivityEnvironment();
    const v1 = await storeModel(stack, logisticModel());
    const v2 = await storeModel(stack, logisticModel({ shift: 1 }));
    const loaded = (await env.run(activities.servingLoadVersion, { model: 'churn', version: 1, ref: v1 })) as LoadVersionResult;
    assert.deepEqual([loaded.version, loaded.stable, loaded.generation], ['1', '1', 1]);
    await env.run(activities.servingLoadVersion, { model: 'churn', version: 2, ref: v2 });
    const routed = await env.run(activities.servingSetRouting, { model: 'churn', stable: 1, candidate: { version: 2, weight: 100 } });
    assert.deepEqual(routed, { generation: 3, routing: { stable: '1', candidate: { version: '2', weight: 100, mode: 'live' } } });
    const from = new Date(Date.now() - 1000).toISOString();
    assert.equal((await call(pool.url, '/v1/models/churn:predict', { body: { instances: [row(1)] } })).body.version, '2');
    const report = (await env.run(activities.servingReportMetrics, { model: 'churn', from, to: new Date(Date.now() + 1000).toISOString() })) as MetricsReport;
    assert.deepEqual(report.versions.map((v) => [v.version, v.requests, v.routes]), [['2', 1, { candidate: 1 }]]);

    const failure = async (run: Promise<unknown>) => {
      const err = await run.then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof ApplicationFailure, String(err));
      return [err.type, err.nonRetryable, err.message];
    };
    assert.deepEqual(await failure(env.run(activities.servingUnloadVersion, { model: 'churn', version: 2 })), [
      'PlumbConflict', true, 'churn version 2 takes traffic (stable 1, candidate 2): route away from it first',
    ]);
    assert.deepEqual(await failure(env.run(activities.servingSetRouting, { model: 'churn', stable: 7 })), [
      'PlumbNotFound', true, 'churn version 7 is not loaded: load it before routing to it',
    ]);
    assert.deepEqual(await failure(env.run(activities.servingLoadVersion, { model: 'churn', version: 'x y', ref: v1 })), [
      'PlumbBadInput', true, 'servingLoadVersion: version: expected a version id such as "3"',
    ]);
    const [type, , message] = await failure(env.run(activities.servingLoadVersion, { model: 'churn', version: 3, ref: await storeModel(stack, unloadableModel()) }));
    assert.equal(type, 'PlumbBadInput');
    assert.match(String(message), /^churn version 3 cannot be served: loading failed/);
    await env.run(activities.servingSetRouting, { model: 'churn', stable: 2 });
    const unloaded = await env.run(activities.servingUnloadVersion, { model: 'churn', version: 1 });
    assert.deepEqual(unloaded, { generation: 5, routing: { stable: '2' } });
  } finally {
    await pool.close();
    await stack.cleanup();
  }
});

test('pool.score runs batch rows on the stable version through the engine', async () => {
  const stack = await makeStack();
  const pool = await startPool(stack);
  try {
    await pool.control.served.apply(
      { generation: 1, updatedAt: new Date().toISOString(), models: { churn: { versions: [{ version: '4', ref: await storeModel(stack, logisticModel()) }], routing: { stable: '4' } } } },
      { strict: true },
    );
    const rows = [row(1), row(2), row(3)];
    const { version, outputs } = await pool.score('churn', undefined, {
      tenure: { type: 'float32', data: Float32Array.from(rows, (r) => r.tenure), dims: [3, 1] },
      monthly_charges: { type: 'float32', data: Float32Array.from(rows, (r) => r.monthly_charges), dims: [3, 1] },
      contract: { type: 'string', data: rows.map((r) => r.contract), dims: [3, 1] },
    }, 3);
    assert.equal(version, '4');
    const probs = outputs.probabilities!.data as Float32Array;
    assert.deepEqual(rows.map((_, i) => Math.round(probs[2 * i + 1]! * 1e5)), rows.map((r) => Math.round(logisticProbability(r) * 1e5)));
    await assert.rejects(pool.score('nope', undefined, {}, 1), /nope has no stable version/);
  } finally {
    await pool.close();
    await stack.cleanup();
  }
});

test('loading a first version without activating it leaves the model unrouted until routing is set', async () => {
  const stack = await makeStack();
  const pool = await startPool(stack);
  try {
    const activities = createServingActivities(pool.control, silentLog);
    const env = new MockActivityEnvironment();
    const v1 = await storeModel(stack, logisticModel());
    const loaded = (await env.run(activities.servingLoadVersion, { model: 'churn', version: 1, ref: v1, activate: 'none' as const })) as LoadVersionResult;
    assert.equal(loaded.stable, undefined);
    const routed = await env.run(activities.servingSetRouting, { model: 'churn', stable: 1 });
    assert.deepEqual(routed, { generation: 2, routing: { stable: '1' } });
    assert.equal((await call(pool.url, '/v1/models/churn:predict', { body: { instances: [row(1)] } })).body.version, '1');
  } finally {
    await pool.close();
    await stack.cleanup();
  }
});

test('removing a model drops every version and its routing from the assignment: its requests get 404; removing it again is fine', async () => {
  const stack = await makeStack();
  const pool = await startPool(stack);
  try {
    const activities = createServingActivities(pool.control, silentLog);
    const env = new MockActivityEnvironment();
    await env.run(activities.servingLoadVersion, { model: 'churn', version: 1, ref: await storeModel(stack, logisticModel()) });
    await env.run(activities.servingLoadVersion, { model: 'churn', version: 2, ref: await storeModel(stack, logisticModel({ shift: 1 })) });
    await env.run(activities.servingLoadVersion, { model: 'other', version: 1, ref: await storeModel(stack, logisticModel()) });
    assert.equal((await call(pool.url, '/v1/models/churn:predict', { body: { instances: [row(1)] } })).status, 200);

    assert.deepEqual(await env.run(activities.servingRemoveModel, { model: 'churn' }), { generation: 4 });
    const gone = await call(pool.url, '/v1/models/churn:predict', { body: { instances: [row(1)] } });
    assert.deepEqual([gone.status, gone.body], [404, { error: 'model churn is not served here' }]);
    assert.deepEqual(pool.control.served.versionsOf('churn'), []);
    assert.equal((await call(pool.url, '/v1/models/other:predict', { body: { instances: [row(1)] } })).status, 200);
    assert.deepEqual(await env.run(activities.servingRemoveModel, { model: 'churn' }), { generation: 5 });
  } finally {
    await pool.close();
    await stack.cleanup();
  }
});
