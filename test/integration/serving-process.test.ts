import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { logisticModel, logisticProbability } from '../fixtures/onnx-models.js';
import { type PoolProcess, type Stack, call, freePort, makeStack, row, spawnPool, storeModel } from './serving-harness.js';

describe('serving pool process', () => {
  let stack: Stack;
  let first: PoolProcess | undefined;
  let second: PoolProcess | undefined;

  before(async () => {
    stack = await makeStack();
  });
  after(async () => {
    await first?.stop('SIGKILL');
    await second?.stop('SIGKILL');
    await stack.cleanup();
  });

  test('serves with Temporal unreachable and keeps retrying the connection', async () => {
    first = await spawnPool(stack, await freePort());
    const ref = await storeModel(stack, logisticModel());
    const loaded = await call(first.url, '/admin/models/churn/versions', { body: { version: 1, ref } });
    assert.equal(loaded.status, 200, JSON.stringify(loaded.body));
    const res = await call(first.url, '/v1/models/churn:predict', { body: { instances: [row(5)] } });
    assert.equal(Math.round(res.body.predictions[0].probabilities[1] * 1e5), Math.round(logisticProbability(row(5)) * 1e5));
    assert.match(first.output(), /"msg":"temporal unreachable; serving continues, retrying"/);
  });

  test('a second process converges on the published assignment', async () => {
    second = await spawnPool(stack, await freePort(), {});
    let version: string | undefined;
    for (let i = 0; i < 100 && version === undefined; i++) {
      const res = await call(second.url, '/v1/models/churn:predict', { body: { instances: [row(1)] } });
      if (res.status === 200) version = res.body.version;
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(version, '1');
    for (let i = 0; i < 20; i++) await call(second.url, '/v1/models/churn:predict', { body: { instances: [row(i)] } });
    // A report run by the first process includes what the second served, once it is published.
    const window = () => `from=${new Date(Date.now() - 600_000).toISOString()}&to=${new Date(Date.now() + 1000).toISOString()}`;
    let pools: string[] = [];
    let requests = 0;
    for (let i = 0; i < 100 && requests < 22; i++) {
      const report = await call(first!.url, `/admin/models/churn/metrics?${window()}`);
      pools = report.body.pools;
      requests = report.body.versions[0]?.requests ?? 0;
      if (requests < 22) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(pools.length, 2);
    assert.equal(requests, 22); // 1 on the first process, 1 + 20 on the second
    await second.stop('SIGKILL');
    second = undefined;
  });

  test('survives thousands of random and malformed bodies without a 5xx', async () => {
    const pool = first!;
    const random = seeded(42);
    const statuses = new Map<number, number>();
    const bodies = Array.from({ length: 3000 }, (_, i) => fuzzBody(i, random));
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < bodies.length) {
          const [path, init] = bodies[next++]!;
          const res = await call(pool.url, path, init);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    const serverErrors = [...statuses].filter(([s]) => s >= 500);
    assert.deepEqual(serverErrors, [], JSON.stringify([...statuses]));
    assert.ok((statuses.get(400) ?? 0) > 1000);
    assert.ok((statuses.get(200) ?? 0) > 50);
    assert.equal((await call(pool.url, '/v2/health/live')).status, 200);
    assert.equal((await call(pool.url, '/v1/models/churn:predict', { body: { instances: [row(1)] } })).status, 200);
  });

  test('stops cleanly on SIGTERM and restores the cached assignment on restart', async () => {
    const port = Number(new URL(first!.url).port);
    assert.equal(await first!.stop('SIGTERM'), 0);
    // The published document is gone: the restart can only use the process's own cache.
    await stack.store.putNamed(stack.config.serving.assignmentKey, 'not json at all');
    first = await spawnPool(stack, port);
    const res = await call(first.url, '/v1/models/churn:predict', { body: { instances: [row(3)] } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.version, '1');
    assert.match(first.output(), /"msg":"restoring cached assignment".*"generation":1/);
  });
});

type FuzzRequest = [string, { method?: string; raw?: string; headers?: Record<string, string> }];

function fuzzBody(i: number, random: () => number): FuzzRequest {
  const paths = ['/v1/models/churn:predict', '/v2/models/churn/infer', '/v2/models/churn/versions/1/infer', '/v2/models/%E0%A4%A/infer', '/v2/models/churn', '/admin/models/churn/routing'];
  const path = paths[Math.floor(random() * paths.length)]!;
  const json = { 'content-type': 'application/json' };
  const values = [0, -1, 1e308, 1e-320, 'x', '', null, true, [], {}, [1, 2], { a: 1 }, 'one-year', 12.5, '\u0000', 'ü'.repeat(50)];
  const pick = () => values[Math.floor(random() * values.length)];
  switch (i % 8) {
    case 0:
      return [path, { method: 'POST', raw: String.fromCharCode(...Array.from({ length: 1 + Math.floor(random() * 60) }, () => Math.floor(random() * 256))), headers: json }];
    case 1:
      return [path, { method: 'POST', raw: JSON.stringify({ instances: [{ ...row(i), tenure: pick() }] }), headers: json }];
    case 2:
      return [path, { method: 'POST', raw: JSON.stringify({ instances: [{ tenure: pick(), monthly_charges: pick(), contract: pick(), [String(pick())]: pick() }] }), headers: json }];
    case 3:
      return [path, { method: 'POST', raw: JSON.stringify({ inputs: [{ name: pick(), shape: [pick(), pick()], datatype: pick(), data: [pick()] }], outputs: pick() }), headers: json }];
    case 4:
      return [path, { method: 'POST', raw: JSON.stringify({ instances: [row(i), row(i + 1)] }), headers: json }];
    case 5:
      return [path, { method: 'POST', raw: JSON.stringify(pick()), headers: json }];
    case 6:
      return [path, { method: ['PUT', 'DELETE', 'PATCH', 'GET'][i % 4]!, raw: '{"stable": 1, "candidate": {"version": "x", "weight": 500}}', headers: json }];
    default:
      return [path, { method: 'POST', raw: '{"instances": [' + '['.repeat(Math.floor(random() * 5000)), headers: { 'content-type': random() < 0.5 ? 'text/plain' : 'application/json' } }];
  }
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
