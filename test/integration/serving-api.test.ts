import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ModelRef } from '../../lib/refs.js';
import type { ServingPool } from '../../serving/pool.js';
import { CONTRACTS, POISON_CATEGORY, logisticModel, logisticProbability, unloadableModel } from '../fixtures/onnx-models.js';
import { type Stack, call, keysFrom, makeStack, row, startPool, storeModel } from './serving-harness.js';

const v2Body = (rows: ReturnType<typeof row>[], extra: Record<string, unknown> = {}) => ({
  inputs: [
    { name: 'tenure', shape: [rows.length, 1], datatype: 'FP32', data: rows.map((r) => r.tenure) },
    { name: 'monthly_charges', shape: [rows.length, 1], datatype: 'FP32', data: rows.map((r) => r.monthly_charges) },
    { name: 'contract', shape: [rows.length, 1], datatype: 'BYTES', data: rows.map((r) => r.contract) },
  ],
  ...extra,
});
const round5 = (x: number) => Math.round(x * 1e5) / 1e5;

describe('serving pool over HTTP', () => {
  let stack: Stack;
  let pool: ServingPool;
  let v1: ModelRef;
  let v2: ModelRef;

  before(async () => {
    stack = await makeStack({ bodyLimitBytes: 65_536, maxRowsPerRequest: 100 });
    pool = await startPool(stack);
    v1 = await storeModel(stack, logisticModel());
    v2 = await storeModel(stack, logisticModel({ shift: 3 }));
    const loaded = await call(pool.url, '/admin/models/churn/versions', { body: { version: 1, ref: v1 } });
    assert.equal(loaded.status, 200, JSON.stringify(loaded.body));
  });
  after(async () => {
    await pool.close();
    await stack.cleanup();
  });

  test('answers liveness, readiness and server metadata', async () => {
    assert.deepEqual((await call(pool.url, '/v2/health/live')).body, { live: true });
    assert.deepEqual((await call(pool.url, '/v2/health/ready')).body, { ready: true });
    assert.deepEqual((await call(pool.url, '/v2')).body, { name: 'plumb-serving', version: '0.1.0', extensions: [] });
  });

  test('describes a model and a version with their inputs and outputs', async () => {
    const expected = {
      name: 'churn',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      version: '1',
      inputs: [
        { name: 'tenure', datatype: 'FP32', shape: [-1, 1] },
        { name: 'monthly_charges', datatype: 'FP32', shape: [-1, 1] },
        { name: 'contract', datatype: 'BYTES', shape: [-1, 1] },
      ],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
      ],
    };
    assert.deepEqual((await call(pool.url, '/v2/models/churn')).body, expected);
    assert.deepEqual((await call(pool.url, '/v2/models/churn/versions/1')).body, expected);
    assert.deepEqual((await call(pool.url, '/v2/models/churn/ready')).body, { name: 'churn', version: '1', ready: true });
    assert.deepEqual((await call(pool.url, '/v2/models/churn/versions/1/ready')).body, { name: 'churn', version: '1', ready: true });
    assert.deepEqual(await call(pool.url, '/v2/models/nope').then((r) => [r.status, r.body]), [404, { error: 'model nope is not served here' }]);
    assert.deepEqual(await call(pool.url, '/v2/models/churn/versions/9').then((r) => [r.status, r.body]), [404, { error: 'churn version 9 is not served here' }]);
  });

  test('infers V2 tensors, echoes the request id and honours the outputs selection', async () => {
    const rows = [row(1), row(2), row(3)];
    const res = await call(pool.url, '/v2/models/churn/infer', { body: v2Body(rows, { id: 'req-7' }) });
    assert.equal(res.status, 200);
    assert.equal(res.body.id, 'req-7');
    assert.equal(res.body.model_name, 'churn');
    assert.equal(res.body.model_version, '1');
    const [label, probs] = res.body.outputs;
    assert.deepEqual([label.name, label.datatype, label.shape], ['label', 'INT64', [3]]);
    assert.deepEqual([probs.name, probs.datatype, probs.shape], ['probabilities', 'FP32', [3, 2]]);
    assert.deepEqual(probs.data.filter((_: number, i: number) => i % 2 === 1).map(round5), rows.map((r) => round5(logisticProbability(r))));
    assert.deepEqual(label.data, rows.map((r) => (logisticProbability(r) > 0.5 ? 1 : 0)));
    const only = await call(pool.url, '/v2/models/churn/versions/1/infer', { body: v2Body([row(1)], { outputs: [{ name: 'probabilities' }] }) });
    assert.deepEqual(only.body.outputs.map((o: { name: string }) => o.name), ['probabilities']);
  });

  test('predicts feature objects on /v1/models/{name}:predict', async () => {
    const instances = [row(4), { tenure: 60, monthly_charges: 20, contract: 'two-year' }];
    const res = await call(pool.url, '/v1/models/churn:predict', { body: { instances }, headers: { 'x-request-id': 'abc-1' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'abc-1');
    assert.equal(res.body.version, '1');
    assert.deepEqual(
      res.body.predictions.map((p: { probabilities: number[] }) => round5(p.probabilities[1]!)),
      instances.map((r) => round5(logisticProbability(r))),
    );
  });

  const invalid: [string, { raw?: string; body?: unknown; headers?: Record<string, string>; path?: string }, number, string][] = [
    ['malformed JSON', { raw: '{"instances": [', headers: { 'content-type': 'application/json' } }, 400, 'body: not valid JSON'],
    ['an empty body', { raw: '', headers: { 'content-type': 'application/json' } }, 400, 'body: empty; expected a JSON object'],
    ['a wrong content type', { raw: 'tenure=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'content-type must be application/json, got application/x-www-form-urlencoded'],
    ['a body over the size limit', { raw: JSON.stringify({ instances: Array.from({ length: 2000 }, (_, i) => row(i)) }), headers: { 'content-type': 'application/json' } }, 413, 'exceeds the limit of 65536 bytes'],
    ['an array body', { body: [row(1)] }, 400, 'body: expected an object, got an array'],
    ['no instances', { body: { instances: [] } }, 400, 'instances: expected a non-empty array of feature objects'],
    ['too many rows', { body: { instances: Array.from({ length: 101 }, (_, i) => row(i)) } }, 400, 'instances: 101 rows exceed the limit of 100 per request'],
    ['a missing feature', { body: { instances: [{ tenure: 1, contract: 'one-year' }] } }, 400, 'instances[0].monthly_charges: missing'],
    ['an extra feature', { body: { instances: [{ ...row(1), age: 3 }] } }, 400, 'instances[0].age: unknown feature (the model expects tenure, monthly_charges, contract)'],
    ['a string for a numeric feature', { body: { instances: [row(1), { ...row(2), tenure: '12' }] } }, 400, 'instances[1].tenure: expected a number, got string "12"'],
    ['a number for a categorical feature', { body: { instances: [{ ...row(1), contract: 2 }] } }, 400, 'instances[0].contract: expected a string (categorical feature), got number 2'],
    ['a null value', { body: { instances: [{ ...row(1), monthly_charges: null }] } }, 400, 'instances[0].monthly_charges: expected a number, got null'],
    ['Infinity', { raw: '{"instances":[{"tenure":1e999,"monthly_charges":1,"contract":"one-year"}]}', headers: { 'content-type': 'application/json' } }, 400, 'instances[0].tenure: NaN and Infinity are not allowed'],
    ['a value outside float32', { body: { instances: [{ ...row(1), tenure: 1e300 }] } }, 400, 'instances[0].tenure: 1e+300 is outside the float32 range'],
    ['an unknown V2 input', { path: '/v2/models/churn/infer', body: { inputs: [...v2Body([row(1)]).inputs, { name: 'x', shape: [1], datatype: 'FP32', data: [1] }] } }, 400, 'inputs[3].name: unknown input "x" (the model expects tenure, monthly_charges, contract)'],
    ['a missing V2 input', { path: '/v2/models/churn/infer', body: { inputs: v2Body([row(1)]).inputs.slice(1) } }, 400, 'inputs: missing input "tenure"'],
    ['a duplicated V2 input', { path: '/v2/models/churn/infer', body: { inputs: [...v2Body([row(1)]).inputs, v2Body([row(1)]).inputs[0]] } }, 400, 'inputs[3].name: input "tenure" given twice'],
    ['a wrong V2 datatype', { path: '/v2/models/churn/infer', body: { inputs: v2Body([row(1)]).inputs.map((i) => (i.name === 'contract' ? { ...i, datatype: 'FP32' } : i)) } }, 400, 'inputs "contract".datatype: categorical feature needs BYTES, got FP32'],
    ['a V2 shape that does not match the data', { path: '/v2/models/churn/infer', body: { inputs: v2Body([row(1), row(2)]).inputs.map((i) => (i.name === 'tenure' ? { ...i, data: [1] } : i)) } }, 400, 'inputs "tenure".data: shape [2, 1] needs 2 elements, got 1'],
    ['V2 inputs with different row counts', { path: '/v2/models/churn/infer', body: { inputs: [...v2Body([row(1), row(2)]).inputs.slice(0, 2), v2Body([row(1)]).inputs[2]] } }, 400, 'inputs "contract".shape: 1 rows, but other inputs have 2'],
    ['a V2 shape of the wrong rank', { path: '/v2/models/churn/infer', body: { inputs: v2Body([row(1)]).inputs.map((i) => ({ ...i, shape: [1, 2] })) } }, 400, 'inputs "tenure".shape: expected [N, 1] or [N], got [1, 2]'],
    ['an unknown V2 output', { path: '/v2/models/churn/infer', body: v2Body([row(1)], { outputs: [{ name: 'logits' }] }) }, 400, 'outputs[0].name: unknown output "logits" (the model has label, probabilities)'],
    ['an unknown model', { path: '/v1/models/nope:predict', body: { instances: [row(1)] } }, 404, 'model nope is not served here'],
    ['an unknown endpoint', { path: '/v3/what', body: {} }, 404, 'no such endpoint: /v3/what'],
  ];
  for (const [name, req, status, message] of invalid) {
    test(`refuses ${name} with ${status} naming the problem`, async () => {
      const res = await call(pool.url, req.path ?? '/v1/models/churn:predict', { ...req, method: 'POST' });
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.ok(typeof res.body.error === 'string' && res.body.error.includes(message), `${res.body.error} should contain ${message}`);
    });
  }

  test('answers 405 with Allow for a wrong method', async () => {
    const res = await call(pool.url, '/v2/health/live', { method: 'POST', body: {} });
    assert.deepEqual([res.status, res.headers.get('allow'), res.body], [405, 'GET', { error: 'method POST is not allowed on /v2/health/live' }]);
  });

  test('routes the candidate its weight share of 10,000 requests', async () => {
    await call(pool.url, '/admin/models/churn/versions', { body: { version: 2, ref: v2 } });
    const set = await call(pool.url, '/admin/models/churn/routing', { method: 'PUT', body: { stable: 1, candidate: { version: 2, weight: 20 } } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const versions = await callMany(pool.url, 10_000, (i) => ({ body: { instances: [row(i)] } }));
    const candidate = versions.filter((v) => v === '2').length;
    // 5 standard deviations of a binomial(10000, 0.2) is 200
    assert.ok(Math.abs(candidate - 2000) < 200, `candidate answered ${candidate} of 10000`);
    assert.equal(candidate + versions.filter((v) => v === '1').length, 10_000);
  });

  test('keeps a routing key on the same version and spreads keys by weight', async () => {
    const perKey = await Promise.all(
      Array.from({ length: 400 }, async (_, k) => {
        const seen = await callMany(pool.url, 5, (i) => ({ body: { instances: [row(i)] }, headers: { 'x-routing-key': `customer-${k}` } }), 5);
        return new Set(seen);
      }),
    );
    assert.ok(perKey.every((s) => s.size === 1), 'every key stays on one version');
    const onCandidate = perKey.filter((s) => s.has('2')).length;
    assert.ok(onCandidate > 40 && onCandidate < 120, `${onCandidate} of 400 keys on the 20% candidate`);
  });

  test('never returns shadow answers but records them', async () => {
    await call(pool.url, '/admin/models/churn/routing', { method: 'PUT', body: { stable: 1, candidate: { version: 2, weight: 100, mode: 'shadow' } } });
    const from = new Date(Date.now() - 1).toISOString();
    const versions = await callMany(pool.url, 300, (i) => ({ body: { instances: [row(i)] } }));
    assert.deepEqual(new Set(versions), new Set(['1']));
    let shadow = 0;
    for (let i = 0; i < 100 && shadow < 300; i++) {
      const report = await call(pool.url, `/admin/models/churn/metrics?from=${from}&to=${new Date(Date.now() + 1000).toISOString()}`);
      shadow = report.body.versions.find((v: { version: string }) => v.version === '2')?.routes.shadow ?? 0;
      if (shadow < 300) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(shadow, 300);
    await call(pool.url, '/admin/models/churn/routing', { method: 'PUT', body: { stable: 1 } });
  });

  test('swaps the stable version 10 times under concurrent load without a failed request', async () => {
    let stop = false;
    const statuses: number[] = [];
    const clients = Array.from({ length: 6 }, async (_, c) => {
      for (let i = 0; !stop; i++) statuses.push((await call(pool.url, '/v1/models/churn:predict', { body: { instances: [row(c * 1000 + i)] } })).status);
    });
    let previous = '1';
    for (let s = 1; s <= 10; s++) {
      const ref = await storeModel(stack, logisticModel({ shift: s / 100 }));
      const version = `swap${s}`;
      const loaded = await call(pool.url, '/admin/models/churn/versions', { body: { version, ref, activate: 'stable' } });
      assert.equal(loaded.body.stable, version);
      if (previous !== '1') assert.equal((await call(pool.url, `/admin/models/churn/versions/${previous}`, { method: 'DELETE' })).status, 200);
      previous = version;
    }
    stop = true;
    await Promise.all(clients);
    assert.ok(statuses.length > 50, `${statuses.length} requests during the swaps`);
    assert.deepEqual([...new Set(statuses)], [200]);
    await call(pool.url, '/admin/models/churn/routing', { method: 'PUT', body: { stable: 1 } });
    await call(pool.url, `/admin/models/churn/versions/${previous}`, { method: 'DELETE' });
  });

  test('refuses a model file that fails to load and keeps serving the current one', async () => {
    const bad = await storeModel(stack, unloadableModel());
    const before = pool.served.assignment.generation;
    const res = await call(pool.url, '/admin/models/churn/versions', { body: { version: 'broken', ref: bad, activate: 'stable' } });
    assert.equal(res.status, 400);
    assert.match(res.body.error, /^churn version broken cannot be served: loading failed/);
    assert.equal(pool.served.assignment.generation, before);
    assert.equal((await call(pool.url, '/v1/models/churn:predict', { body: { instances: [row(1)] } })).body.version, '1');
  });

  test('takes a repeatedly failing candidate out of rotation and answers from the stable version', async () => {
    const failing = await storeModel(stack, logisticModel({ failOnPoison: true }));
    await call(pool.url, '/admin/models/churn/versions', { body: { version: 'f', ref: failing } });
    await call(pool.url, '/admin/models/churn/routing', { method: 'PUT', body: { stable: 1, candidate: { version: 'f', weight: 100 } } });
    const poisoned = { instances: [{ ...row(1), contract: POISON_CATEGORY }] };
    const healthy = await call(pool.url, '/v1/models/churn:predict', { body: { instances: [row(1)] } });
    assert.equal(healthy.body.version, 'f');
    const answers = await callMany(pool.url, 12, () => ({ body: poisoned }), 1);
    assert.deepEqual(new Set(answers), new Set(['1']));
    const after = await call(pool.url, '/v1/models/churn:predict', { body: { instances: [row(2)] } });
    assert.equal(after.body.version, '1');
    const metrics = (await call(pool.url, '/metrics')).body as string;
    assert.ok(metrics.includes('plumb_serving_circuit_open{model="churn",version="f"} 1'));
    assert.ok(metrics.includes('plumb_serving_circuit_trips_total{model="churn",version="f",reason="errors"} 1'));
    const pinned = await call(pool.url, '/v2/models/churn/versions/f/infer', { body: v2Body([{ ...row(1), contract: POISON_CATEGORY }]) });
    assert.equal(pinned.status, 503);
    assert.match(pinned.body.error, /^churn version f failed: .*Gather/);
    await call(pool.url, '/admin/models/churn/routing', { method: 'PUT', body: { stable: 1 } });
  });

  test('reports per-version counts, errors, latency quantiles and the prediction histogram', async () => {
    // Statistics are kept in 10-second buckets, so a fresh model gives exact counts.
    await call(pool.url, '/admin/models/report/versions', { body: { version: 1, ref: v1 } });
    const from = new Date().toISOString();
    await callMany(pool.url, 50, (i) => ({ body: { instances: [row(i), row(i + 1)] } }), 8, 'report');
    const report = await call(pool.url, `/admin/models/report/metrics?from=${from}&to=${new Date(Date.now() + 1000).toISOString()}`);
    const v = report.body.versions.find((x: { version: string }) => x.version === '1');
    assert.equal(v.requests, 50);
    assert.equal(v.errors, 0);
    assert.equal(v.rows, 100);
    assert.equal(v.predictionHistogram.reduce((a: number, b: number) => a + b, 0), 100);
    assert.ok(v.latencyMs.p50 > 0 && v.latencyMs.p50 <= v.latencyMs.p99);
  });

  test('writes every prediction to Parquet partitions by model and hour', async () => {
    await pool.flushPredictionLog();
    const dir = stack.store.namedPath('predictions/model=churn');
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    const reader = await conn.runAndReadAll(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT version)::INTEGER AS versions, min(features.contract IN (${CONTRACTS.map((c) => `'${c}'`).join(',')}, '${POISON_CATEGORY}'))::INTEGER AS ok FROM read_parquet('${dir}/hour=*/*.parquet')`,
    );
    const [n, versions, ok] = reader.getRows()[0]!;
    const schema = await conn.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${dir}/hour=*/*.parquet'))`);
    assert.deepEqual(schema.getRows(), [
      ['time', 'TIMESTAMP'],
      ['requestId', 'VARCHAR'],
      ['model', 'VARCHAR'],
      ['version', 'VARCHAR'],
      ['route', 'VARCHAR'],
      ['features', 'STRUCT(tenure DOUBLE, monthly_charges DOUBLE, contract VARCHAR)'],
      ['label', 'BIGINT'],
      ['probability', 'DOUBLE'],
      ['hour', 'VARCHAR'], // from the hive-style partition path
    ]);
    conn.closeSync();
    instance.closeSync();
    assert.ok((n as number) > 10_000, `${n} logged rows`);
    assert.ok((versions as number) >= 3);
    assert.equal(ok, 1);
  });

  test('exposes Prometheus metrics by model, version, route and outcome', async () => {
    const text = (await call(pool.url, '/metrics')).body as string;
    assert.match(text, /plumb_serving_requests_total\{model="churn",version="1",route="stable",outcome="ok"\} \d+/);
    assert.match(text, /plumb_serving_requests_total\{model="churn",version="2",route="shadow",outcome="ok"\} 300/);
    assert.match(text, /plumb_serving_request_duration_seconds_bucket\{le="0.005",model="churn",version="1",route="stable"\} \d+/);
    for (const name of ['plumb_serving_in_flight_requests', 'plumb_serving_queue_depth', 'plumb_serving_batch_rows_count', 'plumb_serving_assignment_generation']) {
      assert.ok(text.includes(name), name);
    }
  });
});

describe('serving auth and overload', () => {
  test('refuses a missing or unknown key with 401 and a key without the right with 403', async () => {
    const stack = await makeStack();
    const pool = await startPool(stack, keysFrom('predict-key-0123456789:predict,admin-key-0123456789:predict+admin'));
    try {
      const p = { body: { instances: [row(1)] } };
      assert.deepEqual(await call(pool.url, '/v1/models/churn:predict', p).then((r) => [r.status, r.body.error]), [401, 'missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"']);
      assert.deepEqual(await call(pool.url, '/v1/models/churn:predict', { ...p, headers: { authorization: 'Bearer wrong-key-000000000' } }).then((r) => [r.status, r.body.error]), [401, 'unknown API key']);
      assert.deepEqual(await call(pool.url, '/metrics', { headers: { 'x-api-key': 'predict-key-0123456789' } }).then((r) => [r.status, r.body.error]), [403, 'API key "PLUMB_API_KEYS#1" lacks the "admin" right']);
      assert.equal((await call(pool.url, '/admin/assignment', { headers: { 'x-api-key': 'predict-key-0123456789' } })).status, 403);
      assert.equal((await call(pool.url, '/metrics', { headers: { authorization: 'Bearer admin-key-0123456789' } })).status, 200);
      assert.equal((await call(pool.url, '/v1/models/churn:predict', { ...p, headers: { 'x-api-key': 'predict-key-0123456789' } })).status, 404);
      assert.equal((await call(pool.url, '/v2/health/ready')).status, 200);
    } finally {
      await pool.close();
      await stack.cleanup();
    }
  });

  test('answers 503 with Retry-After when the queue is full', async () => {
    const stack = await makeStack({ maxQueueLength: 1, maxBatchRows: 1, predictionLog: { enabled: false } });
    const pool = await startPool(stack);
    try {
      const slow = await storeModel(stack, logisticModel({ slowSize: 384, slowRepeats: 6 }));
      await call(pool.url, '/admin/models/churn/versions', { body: { version: 1, ref: slow } });
      const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => call(pool.url, '/v1/models/churn:predict', { body: { instances: [row(i)] } })));
      const refused = replies.filter((r) => r.status === 503);
      assert.ok(refused.length > 0, 'some requests are refused');
      assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200, 503]));
      assert.equal(refused[0]!.headers.get('retry-after'), '1');
      assert.match(refused[0]!.body.error, /^the queue for [0-9a-f]{64} is full \(1 requests\); retry shortly$/);
    } finally {
      await pool.close();
      await stack.cleanup();
    }
  });
});

/** Sends n predict requests with bounded concurrency and returns the answering versions. */
async function callMany(
  url: string,
  n: number,
  make: (i: number) => { body: unknown; headers?: Record<string, string> },
  concurrency = 32,
  model = 'churn',
): Promise<string[]> {
  const versions = new Array<string>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        const res = await call(url, `/v1/models/${model}:predict`, make(i));
        assert.equal(res.status, 200, JSON.stringify(res.body));
        versions[i] = res.body.version;
      }
    }),
  );
  return versions;
}
