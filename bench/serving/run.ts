/**
 * Serving benchmark (`npm run bench:serving`): a GBDT-shaped model (200 trees of depth 6 over 20
 * features) served by a real pool process, loaded from a separate load-generator process:
 * throughput and p50/p99 for 1-row and 1000-row requests at several concurrencies, p99 at half the
 * peak single-row throughput (open loop), and the in-process ceiling (batched session.run in this
 * process, and through the engine's threads without HTTP). Appends the results to bench/results.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { parseStackConfig } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { InferenceEngine } from '../../serving/engine.js';
import type { Feeds } from '../../serving/tensors.js';
import { modelRefOf, treeEnsembleModel, treeFeatures } from '../../test/fixtures/onnx-models.js';

const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' ');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PREDICTION_LOG = process.env.BENCH_PREDICTION_LOG !== 'off';
const features = treeFeatures(20);
const model = treeEnsembleModel({ features: 20, trees: 200, depth: 6 });
const ref = modelRefOf(model, features);
const random = (() => {
  let s = 12345;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
})();

const v2Body = (rows: number) =>
  JSON.stringify({ inputs: features.map((f) => ({ name: f.name, shape: [rows, 1], datatype: 'FP32', data: Array.from({ length: rows }, () => Math.round(random() * 1000) / 1000) })) });
const feeds = (rows: number): Feeds =>
  Object.fromEntries(features.map((f) => [f.name, { type: 'float32' as const, data: Float32Array.from({ length: rows }, random), dims: [rows, 1] }]));

interface LoadResult { requests: number; errors: number; rps: number; rowsPerSec: number; p50: number; p99: number }

function runLoad(url: string, rows: number, concurrency: number, rate?: number): Promise<LoadResult> {
  const spec = { url, path: '/v2/models/gbdt/infer', body: v2Body(rows), rows, concurrency, durationMs: SECONDS * 1000, ...(rate ? { rate } : {}) };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/serving/load.ts', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited ${code}`))));
  });
}

async function inProcessCeiling(rows: number): Promise<number> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const f = feeds(rows);
  const input = Object.fromEntries(Object.entries(f).map(([k, t]) => [k, new ort.Tensor('float32', t.data as Float32Array, t.dims)]));
  for (let i = 0; i < 5; i++) await session.run(input);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    await session.run(input);
    n++;
  }
  await session.release();
  return Math.round((n * rows) / ((performance.now() - t0) / 1000));
}

async function engineCeiling(threads: number, rows: number, path: string): Promise<number> {
  const engine = new InferenceEngine({ threads, intraOpThreads: 1, maxBatchRows: rows, maxQueueDelayMs: 0, maxQueueLength: 1024, log: createLogger({ level: 'error' }) });
  await engine.start();
  await engine.load('gbdt', path, feeds(1));
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: threads * 2 }, async () => {
      while (performance.now() - t0 < SECONDS * 1000) {
        await engine.infer('gbdt', feeds(rows), rows, ['label', 'probabilities']);
        n++;
      }
    }),
  );
  const rate = Math.round((n * rows) / ((performance.now() - t0) / 1000));
  await engine.close();
  return rate;
}

const dir = await mkdtemp(join(tmpdir(), 'plumb-bench-serving-'));
const port = 18000 + Math.floor(Math.random() * 2000);
const stackFile = join(dir, 'stack.yml');
await writeFile(stackFile, JSON.stringify({ temporal: { address: '127.0.0.1:1' }, serving: { port, predictionLog: { enabled: PREDICTION_LOG } }, artifacts: { dir: 'artifacts' }, logLevel: 'warn' }));
const config = parseStackConfig(JSON.parse(await readFile(stackFile, 'utf8')), stackFile);
const store = new LocalArtifactStore(config.artifacts.dir);
await store.put(model);
// The ceilings run first, while nothing else of the benchmark uses the CPU.
const ceiling1000 = await inProcessCeiling(1000);
const engine1000 = await engineCeiling(config.serving.threads, 1000, await store.localPath(ref.sha256));
const pool = spawn(process.execPath, ['--import', 'tsx', 'workers/serving.ts', '--config', stackFile], { stdio: ['ignore', 'ignore', 'ignore'] });
const url = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/v2/health/ready`).then((r) => r.status, () => 0)) === 200) break;
    if (i > 300) throw new Error('pool did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const loaded = await fetch(`${url}/admin/models/gbdt/versions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ version: 1, ref }) });
  if (!loaded.ok) throw new Error(`load failed: ${await loaded.text()}`);
  await runLoad(url, 1, 8); // warm-up

  const lines: string[] = [];
  const single: [number, LoadResult][] = [];
  for (const c of [1, 4, 16, 64]) single.push([c, await runLoad(url, 1, c)]);
  const peak = Math.max(...single.map(([, r]) => r.rps));
  const half = await runLoad(url, 1, 0, Math.round(peak / 2));
  const quarter = await runLoad(url, 1, 0, Math.round(peak / 4));
  const batch: [number, LoadResult][] = [];
  for (const c of [1, 2, 4, 8]) batch.push([c, await runLoad(url, 1000, c)]);
  const bestBatch = Math.max(...batch.map(([, r]) => r.rowsPerSec));

  const row = (kind: string, c: number | string, r: LoadResult) => `| ${kind} | ${c} | ${r.rps} | ${r.rowsPerSec} | ${r.p50} | ${r.p99} | ${r.errors} |`;
  lines.push(
    `### ${new Date().toISOString().slice(0, 16)}Z — ${SECONDS}s per level, pool threads ${config.serving.threads}, max batch ${config.serving.maxBatchRows} rows, delay ${config.serving.maxQueueDelayMs} ms, prediction log ${PREDICTION_LOG ? 'on' : 'off'}`,
    '',
    `Machine: ${cpus().length} CPUs (nproc ${execFileSync('nproc').toString().trim()}), ${cpus()[0]?.model ?? 'unknown CPU'}, RAM ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} free), node ${process.version}, load average before the run ${loadBefore}. Model: TreeEnsembleRegressor + sigmoid, 200 trees, depth 6, 20 float inputs (${(model.byteLength / 1024).toFixed(0)} KiB). V2 JSON tensors over HTTP/1.1 keep-alive; load generator in its own process on the same machine.`,
    '',
    '| request | concurrency | req/s | rows/s | p50 ms | p99 ms | errors |',
    '|---|---|---|---|---|---|---|',
    ...single.map(([c, r]) => row('1 row', c, r)),
    row('1 row, open loop at ½ peak', `${Math.round(peak / 2)} req/s`, half),
    row('1 row, open loop at ¼ peak', `${Math.round(peak / 4)} req/s`, quarter),
    ...batch.map(([c, r]) => row('1000 rows', c, r)),
    '',
    `In-process ceiling, 1000-row batches: one session.run loop ${ceiling1000} rows/s; through the engine's ${config.serving.threads} thread(s) without HTTP ${engine1000} rows/s.`,
    '',
    `Targets: p99 at half peak single-row throughput = ${half.p99} ms (target ≤ 10 ms: ${half.p99 <= 10 ? 'met' : 'missed'}); best 1000-row HTTP rows/s / in-process session.run rows/s = ${(bestBatch / ceiling1000).toFixed(2)} (target ≥ 0.5: ${bestBatch / ceiling1000 >= 0.5 ? 'met' : 'missed'}).`,
    '',
  );
  const text = lines.join('\n');
  process.stdout.write(text + '\n');
  const results = await readFile('bench/results.md', 'utf8').catch(() => '# Benchmark results\n');
  const section = results.includes('## serving') ? '' : '\n## serving\n\n';
  await appendFile('bench/results.md', (results === '# Benchmark results\n' ? results : '') + section + text + '\n');
} finally {
  pool.kill('SIGTERM');
  await new Promise((r) => pool.once('exit', r));
  await rm(dir, { recursive: true, force: true });
}
