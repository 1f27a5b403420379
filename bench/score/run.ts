/**
 * Batch-scoring benchmark (`npm run bench:score`): 1M generated rows scored with the logistic
 * fixture, chunk by chunk as the serving activity does (DuckDB slice → inference threads → part
 * Parquet in the store), against the in-process ceiling (one onnxruntime session, the same feeds,
 * no I/O). Temporal round trips are left out: a chunk is one activity, ~10 per million rows.
 * Appends the results to bench/results.md.
 */
import { execFileSync } from 'node:child_process';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { assembleScores, prepareScoring } from '../../activities/batch-scoring.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { createLogger } from '../../lib/logger.js';
import { scoreChunk } from '../../serving/batch-chunk.js';
import { InferenceEngine } from '../../serving/engine.js';
import { CHURN_FEATURES, CONTRACTS, logisticModel, modelRefOf } from '../../test/fixtures/onnx-models.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const CHUNK_ROWS = 100_000;
const THREADS = Math.max(1, cpus().length - 1);
const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' ');
const log = createLogger({ level: 'error' });
const dir = await mkdtemp(join(tmpdir(), 'plumb-bench-score-'));
const store = new LocalArtifactStore(join(dir, 'artifacts'));
const bytes = logisticModel();
const ref = modelRefOf(bytes, CHURN_FEATURES);
await store.put(bytes);
const input = join(dir, 'input.parquet');
await withDuckDB((db) => db.run(
  `COPY (SELECT 'C' || lpad(CAST(i AS VARCHAR), 8, '0') AS customer_id, CAST(i % 72 AS DOUBLE) AS tenure,
     round(20 + (i * 37 % 1000) / 10.0, 2) AS monthly_charges, [${CONTRACTS.map(sqlString).join(', ')}][1 + i % 3] AS contract
   FROM range(${ROWS}) t(i)) TO ${sqlString(input)} (FORMAT parquet)`,
));

try {
  let t = performance.now();
  const prepared = await prepareScoring({ input: { path: input }, model: ref, idColumns: ['customer_id'], maxRejectShare: 0, chunkRows: CHUNK_ROWS }, { store, log });
  const prepareSec = (performance.now() - t) / 1000;

  const engine = new InferenceEngine({ threads: THREADS, intraOpThreads: 1, maxBatchRows: 8192, maxQueueDelayMs: 0, maxQueueLength: 1024, log });
  await engine.start();
  const modelPath = join(dir, 'model.onnx');
  await writeFile(modelPath, bytes);
  const warm = { tenure: { type: 'float32' as const, data: new Float32Array([1]), dims: [1, 1] }, monthly_charges: { type: 'float32' as const, data: new Float32Array([1]), dims: [1, 1] }, contract: { type: 'string' as const, data: ['one-year'], dims: [1, 1] } };
  await engine.load('churn', modelPath, warm);
  const pool = { score: async (_m: string, v: string | undefined, feeds: Parameters<typeof engine.infer>[1], rows: number) => ({ version: v ?? '1', outputs: await engine.infer('churn', feeds, rows, ['label', 'probabilities']) }) };
  const model = { model: 'churn', version: 1, ref };
  t = performance.now();
  const parts = [];
  for (let next = 0; next < prepared.chunks; ) {
    const batch = Array.from({ length: Math.min(2, prepared.chunks - next) }, (_, i) => next + i);
    next += batch.length;
    parts.push(...(await Promise.all(batch.map((chunk) => scoreChunk(pool, store, { model, valid: prepared.valid, idColumns: ['customer_id'], chunk, chunkRows: CHUNK_ROWS, scoredAt: '2026-01-01T00:00:00.000Z' })))));
  }
  const scoreSec = (performance.now() - t) / 1000;
  await engine.close();
  t = performance.now();
  const { output } = await assembleScores({ parts, source: 'bench' }, { store, log });
  const assembleSec = (performance.now() - t) / 1000;

  // Ceiling: one session in this process, the same rows as typed arrays already in memory.
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const n = 8192;
  const feeds = {
    tenure: new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => i % 72), [n, 1]),
    monthly_charges: new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => 20 + ((i * 37) % 1000) / 10), [n, 1]),
    contract: new ort.Tensor('string', Array.from({ length: n }, (_, i) => CONTRACTS[i % 3]!), [n, 1]),
  };
  await session.run(feeds);
  t = performance.now();
  for (let done = 0; done < ROWS; done += n) await session.run(feeds);
  const ceilingSec = (performance.now() - t) / 1000;
  await session.release();

  const rate = (sec: number) => Math.round(ROWS / sec).toLocaleString('en-US');
  const total = prepareSec + scoreSec + assembleSec;
  const lines = [
    '',
    '## score',
    '',
    `Run ${new Date().toISOString()} (\`npm run bench:score\`). Machine: nproc ${execFileSync('nproc').toString().trim()}, ${cpus()[0]?.model ?? 'unknown CPU'}, RAM ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load average before ${loadBefore} (shared machine).`,
    `${ROWS.toLocaleString('en-US')} generated rows (id + 3 features), logistic fixture model, chunks of ${CHUNK_ROWS.toLocaleString('en-US')} rows, 2 chunks at once, ${THREADS} inference thread(s); ${output.rows.toLocaleString('en-US')} rows written.`,
    '',
    '| stage | seconds | rows/s |',
    '|---|---|---|',
    `| prepare (ingest + validate + stage valid rows) | ${prepareSec.toFixed(2)} | ${rate(prepareSec)} |`,
    `| score chunks (DuckDB slice → engine → part Parquet) | ${scoreSec.toFixed(2)} | ${rate(scoreSec)} |`,
    `| assemble parts into the output | ${assembleSec.toFixed(2)} | ${rate(assembleSec)} |`,
    `| end to end (without Temporal round trips) | ${total.toFixed(2)} | ${rate(total)} |`,
    `| ceiling: one in-process onnxruntime session, batches of ${n}, no I/O | ${ceilingSec.toFixed(2)} | ${rate(ceilingSec)} |`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  if (!process.env.BENCH_NO_RECORD) await appendFile(new URL('../results.md', import.meta.url), lines.join('\n'));
} finally {
  await rm(dir, { recursive: true, force: true });
}
