import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PlumbError } from '../../lib/errors.js';
import { parseStackConfig } from '../../lib/config.js';
import { ApiKeys, parseKeysEnv } from '../../serving/auth.js';
import { parseV1Predict, parseV2Infer } from '../../serving/validation.js';
import { BUCKET_MS, VersionStats, buildReport } from '../../serving/version-stats.js';

const features = [
  { name: 'tenure', type: 'numeric' as const },
  { name: 'contract', type: 'categorical' as const },
];

test('turns feature objects into float32 and string columns of shape [N, 1]', () => {
  const parsed = parseV1Predict({ instances: [{ tenure: 1.5, contract: 'a' }, { tenure: 2, contract: 'b' }] }, features, ['label'], 10);
  assert.equal(parsed.rows, 2);
  assert.deepEqual(parsed.feeds.tenure, { type: 'float32', data: Float32Array.of(1.5, 2), dims: [2, 1] });
  assert.deepEqual(parsed.feeds.contract, { type: 'string', data: ['a', 'b'], dims: [2, 1] });
});

test('accepts V2 tensors of shape [N] and nested data', () => {
  const parsed = parseV2Infer(
    { inputs: [{ name: 'tenure', shape: [2], datatype: 'INT64', data: [[1], [2]] }, { name: 'contract', shape: [2, 1], datatype: 'BYTES', data: ['a', 'b'] }] },
    features,
    ['label', 'probabilities'],
    10,
  );
  assert.deepEqual(parsed.feeds.tenure, { type: 'float32', data: Float32Array.of(1, 2), dims: [2, 1] });
  assert.deepEqual(parsed.outputs, ['label', 'probabilities']);
});

test('names the field of a V2 element of the wrong type', () => {
  assert.throws(
    () => parseV2Infer({ inputs: [{ name: 'tenure', shape: [1], datatype: 'FP32', data: ['1'] }, { name: 'contract', shape: [1], datatype: 'BYTES', data: ['a'] }] }, features, ['label'], 10),
    (err: unknown) => err instanceof PlumbError && err.kind === 'BadInput' && err.message === 'inputs "tenure".data[0]: expected a number, got string "1"',
  );
});

test('parses API keys from the environment format and checks rights', () => {
  const keys = new ApiKeys(parseKeysEnv('reader-key-0123456789:predict, boss-key-0123456789:predict+admin', 'KEYS'));
  assert.equal(keys.check('boss-key-0123456789', 'admin'), 'KEYS#2');
  assert.throws(() => keys.check('reader-key-0123456789', 'admin'), (e: unknown) => e instanceof PlumbError && e.kind === 'Forbidden');
  assert.throws(() => parseKeysEnv('short:predict', 'KEYS'), /KEYS entry 1: key: keys must have at least 16 characters/);
  assert.throws(() => parseKeysEnv('reader-key-0123456789:read', 'KEYS'), /KEYS entry 1: rights.0: /);
});

test('defaults the serving section and places the state cache by port', () => {
  const config = parseStackConfig({ serving: { port: 9100 } }, '/stack/plumb.yml');
  assert.equal(config.serving.stateDir, '/stack/.plumb/serving-9100');
  assert.equal(config.serving.maxBatchRows, 512);
  assert.ok(config.serving.threads >= 1);
  assert.throws(() => parseStackConfig({ serving: { maxQueueDelayMs: -1 } }, 'x.yml'), /serving.maxQueueDelayMs/);
});

test('reports counts, error rate, latency quantiles and prediction histogram over a window', () => {
  const stats = new VersionStats(3_600_000);
  const t0 = 10 * BUCKET_MS;
  for (let i = 0; i < 100; i++) stats.record('m', '1', 'stable', { ok: true, latencyMs: i < 90 ? 1 : 20, probabilities: [0.05, 0.95] }, t0 + i);
  stats.record('m', '2', 'candidate', { ok: false, latencyMs: 3 }, t0);
  stats.record('m', '1', 'stable', { ok: true, latencyMs: 1 }, t0 + 5 * BUCKET_MS);
  const report = buildReport('m', new Date(t0), new Date(t0 + BUCKET_MS), [{ pool: 'p', stats: stats.snapshot() }]);
  const [v1, v2] = report.versions;
  assert.deepEqual([v1!.version, v1!.requests, v1!.errors, v1!.rows, v1!.routes], ['1', 100, 0, 200, { stable: 100 }]);
  assert.deepEqual(v1!.predictionHistogram, [100, 0, 0, 0, 0, 0, 0, 0, 0, 100]);
  assert.ok(v1!.latencyMs.p50 >= 1 && v1!.latencyMs.p50 < 1.1, String(v1!.latencyMs.p50));
  assert.ok(v1!.latencyMs.p99 >= 20 && v1!.latencyMs.p99 < 22, String(v1!.latencyMs.p99));
  assert.deepEqual([v2!.version, v2!.requests, v2!.errors, v2!.errorRate], ['2', 1, 1, 1]);
});
