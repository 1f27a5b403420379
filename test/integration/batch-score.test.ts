import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import ort from 'onnxruntime-node';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { BATCH_PROGRESS_QUERY, type BatchProgress, type BatchScoreInput, type BatchScoreResult } from '../../lib/batch-score-contracts.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { registerWithStart } from '../../lib/registry-client.js';
import { CHURN_FEATURES, CONTRACTS, logisticModel, modelRefOf } from '../fixtures/onnx-models.js';
import { freePort } from './serving-harness.js';
import { type Suite, type WorkerProcess, connectTestClient, createSuite, startWorkerProcess } from './harness.js';

const run = promisify(execFile);
const plumb = (suite: Suite, ...args: string[]) => run(process.execPath, [join(PROJECT_ROOT, 'bin', 'plumb.js'), '--config', suite.file, ...args], { cwd: PROJECT_ROOT });
const ROWS = 200_000;
const SCORED_AT = '2026-11-01T00:00:00.000Z';
// Every 1000 rows, row 7 lacks tenure and row 13 lacks a contract: 0.2% rejects.
const rejected = (i: number) => i % 1000 === 7 || i % 1000 === 13;

async function writeInput(path: string, rows: number): Promise<void> {
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT 'C' || lpad(CAST(i AS VARCHAR), 7, '0') AS customer_id,
         CASE WHEN i % 1000 = 7 THEN NULL ELSE CAST(i % 72 AS DOUBLE) END AS tenure,
         round(20 + (i * 37 % 1000) / 10.0, 2) AS monthly_charges,
         CASE WHEN i % 1000 = 13 THEN NULL ELSE [${CONTRACTS.map(sqlString).join(', ')}][1 + i % 3] END AS contract
       FROM range(${rows}) t(i)) TO ${sqlString(path)} (FORMAT parquet)`,
    ),
  );
}

describe('batch scoring', () => {
  let suite: Suite;
  let client: Client;
  let closeClient: () => Promise<void>;
  let store: LocalArtifactStore;
  const workers: { control?: WorkerProcess; serving?: WorkerProcess } = {};
  const input = () => join(suite.dir, 'customers.parquet');
  const fast = logisticModel();
  // Same predictions (the extra work is multiplied by zero), but slow enough to kill mid-run.
  const slow = logisticModel({ slowSize: 512, slowRepeats: 8 });
  let reference: BatchScoreResult;

  const register = async (name: string, bytes: Uint8Array) => {
    await store.put(bytes);
    await registerWithStart(client, suite.config.taskQueues.control, name, {
      model: modelRefOf(bytes, CHURN_FEATURES),
      lineage: { workflowId: `fixture-${name}`, runId: 'fixture', datasets: [] },
      metrics: {},
      by: 'pipeline',
    });
  };
  const start = (id: string, args: Partial<BatchScoreInput>) =>
    client.workflow.start('batchScore', {
      taskQueue: suite.config.taskQueues.control,
      workflowId: `${id}-${Date.now()}`,
      args: [{
        input: { path: input() },
        model: 'churn',
        version: 1,
        idColumns: ['customer_id'],
        chunkRows: 20_000,
        servingTaskQueue: suite.config.taskQueues.serving,
        scoredAt: SCORED_AT,
        ...args,
      } satisfies BatchScoreInput],
    });

  before(async () => {
    suite = await createSuite('batch-score', { serving: { port: await freePort(), threads: 2 } });
    ({ client, close: closeClient } = await connectTestClient(suite.config));
    store = new LocalArtifactStore(suite.config.artifacts.dir);
    await writeInput(input(), ROWS);
    [workers.control, workers.serving] = await Promise.all([startWorkerProcess(suite, 'control'), startWorkerProcess(suite, 'serving')]);
    await register('churn', fast);
    await register('churn-slow', slow);
  });

  after(async () => {
    await Promise.all([workers.control?.stop(), workers.serving?.stop()]);
    await closeClient();
  });

  test('scores every valid row once, in input order, with the predictions of direct onnxruntime', async () => {
    const run = await start('score', {});
    reference = await run.result();
    const expectedRejects = Array.from({ length: ROWS }, (_, i) => i).filter(rejected).length;
    assert.deepEqual(reference.rows, { input: ROWS, scored: ROWS - expectedRejects, rejected: expectedRejects });
    assert.equal(reference.chunks, Math.ceil((ROWS - expectedRejects) / 20_000));
    const out = await store.localPath(reference.output.sha256);
    const [counts] = (await withDuckDB((db) => db.runAndReadAll(
      `SELECT count(*), count(DISTINCT customer_id), bool_and(model_version = 1), bool_and(scored_at = TIMESTAMP '2026-11-01 00:00:00'),
         bool_and(customer_id > prev) FROM (SELECT *, lag(customer_id, 1, '') OVER () AS prev FROM read_parquet(${sqlString(out)}))`,
    ))).getRowsJS();
    assert.deepEqual(counts!.map(String), [String(ROWS - expectedRejects), String(ROWS - expectedRejects), 'true', 'true', 'true']);

    const sample = (await withDuckDB((db) => db.runAndReadAll(
      `SELECT i.tenure, i.monthly_charges, i.contract, o.label, o.probability
       FROM read_parquet(${sqlString(input())}) i JOIN read_parquet(${sqlString(out)}) o USING (customer_id)
       WHERE hash(customer_id) % 400 = 0 ORDER BY customer_id`,
    ))).getRowsJS();
    assert.ok(sample.length > 300, `sample of ${sample.length} rows`);
    const session = await ort.InferenceSession.create(Buffer.from(fast));
    const n = sample.length;
    const direct = await session.run({
      tenure: new ort.Tensor('float32', Float32Array.from(sample.map((r) => Number(r[0]))), [n, 1]),
      monthly_charges: new ort.Tensor('float32', Float32Array.from(sample.map((r) => Number(r[1]))), [n, 1]),
      contract: new ort.Tensor('string', sample.map((r) => String(r[2])), [n, 1]),
    });
    const labels = Array.from(direct.label!.data as BigInt64Array, Number);
    const probabilities = Array.from({ length: n }, (_, r) => (direct.probabilities!.data as Float32Array)[2 * r + 1]!);
    assert.deepEqual(sample.map((r) => Number(r[3])), labels);
    assert.deepEqual(sample.map((r) => Number(r[4])), probabilities);
    await session.release();
  });

  test('rows failing validation go to the reject file with their reasons', async () => {
    assert.ok(reference.rejects, 'a reject file');
    const path = await store.localPath(reference.rejects.sha256);
    const rows = (await withDuckDB((db) => db.runAndReadAll(
      `SELECT reason, count(*) FROM read_parquet(${sqlString(path)}) GROUP BY 1 ORDER BY 1`,
    ))).getRowsJS();
    assert.deepEqual(rows.map(([r, c]) => [String(r), Number(c)]), [['contract: missing', ROWS / 1000], ['tenure: missing', ROWS / 1000]]);
  });

  test('fails naming the share and the reasons when more rows are rejected than allowed', async () => {
    const run = await start('too-many-rejects', { maxRejectShare: 0.001 });
    const err = await run.result().then(() => assert.fail('expected the run to fail'), (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ActivityFailure && err.cause.cause instanceof ApplicationFailure);
    const cause = err.cause.cause;
    assert.equal(cause.type, 'PlumbDataQuality');
    assert.match(cause.message, /^400 of 200000 input rows \(0\.20%\) fail validation against 3 model features, more than the allowed 0\.10%: contract: missing \(200 rows\), tenure: missing \(200 rows\); rejects stored as [0-9a-f]{64}$/);
  });

  test('fails before scoring when the input lacks a feature or id column, naming it', async () => {
    const run = await start('missing-column', { idColumns: ['account'] });
    const err = await run.result().then(() => assert.fail('expected the run to fail'), (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ActivityFailure && err.cause.cause instanceof ApplicationFailure);
    assert.equal(err.cause.cause.type, 'PlumbBadInput');
    assert.match(err.cause.cause.message, /^input \(parquet file customers\.parquet\) lacks column account \(model features: tenure, monthly_charges, contract; id columns: account\)$/);
  });

  test('plumb score --wait writes the output file and prints the result; --schedule creates a score schedule', async () => {
    const small = join(suite.dir, 'small.csv');
    await withDuckDB((db) => db.run(`COPY (SELECT * FROM read_parquet(${sqlString(input())}) LIMIT 20000) TO ${sqlString(small)} (HEADER)`));
    const out = join(suite.dir, 'scores', 'small.parquet');
    const args = ['score', 'churn', small, '--id', 'customer_id', '--version', '1', '--out', out, '--json'];
    const { stdout, stderr } = await plumb(suite, ...args, '--wait');
    const result = JSON.parse(stdout) as BatchScoreResult;
    assert.deepEqual({ rows: result.rows, out: result.out }, { rows: { input: 20_000, scored: 19_960, rejected: 40 }, out });
    assert.match(stderr, /^done: 1 \/ 1 chunks \(100%\) — 19,960 rows, [\d,]+ rows\/s$/m);
    const [[rows]] = (await withDuckDB((db) => db.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlString(out)})`))).getRowsJS() as [[bigint]];
    assert.equal(Number(rows), 19_960);
    const scheduled = JSON.parse((await plumb(suite, ...args, '--schedule', '0 3 * * *')).stdout) as { id: string; kind: string; workflowType: string };
    assert.deepEqual([scheduled.id, scheduled.kind, scheduled.workflowType], ['score/churn', 'score', 'batchScore']);
    await client.schedule.getHandle('score/churn').delete();
  });

  test('SIGKILL of the serving process and of the control worker mid-run loses and duplicates no row', async () => {
    const run = await start('killed', { model: 'churn-slow', chunkRows: 5_000 });
    const progress = () => run.query<BatchProgress>(BATCH_PROGRESS_QUERY);
    const waitFor = async (chunks: number) => {
      const deadline = Date.now() + 120_000;
      while (((await progress().catch(() => undefined))?.chunksDone ?? 0) < chunks) {
        assert.ok(Date.now() < deadline, `${chunks} chunks were not done in time`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await waitFor(3);
    await workers.serving!.kill('SIGKILL');
    workers.serving = await startWorkerProcess(suite, 'serving');
    await waitFor(12);
    await workers.control!.kill('SIGKILL');
    workers.control = await startWorkerProcess(suite, 'control');
    const killed = await run.result();
    assert.deepEqual(killed.rows, reference.rows);
    // Content-addressed: the same bytes as the uninterrupted run (same rows, order, predictions).
    assert.equal(killed.output.sha256, reference.output.sha256);
  });
});
