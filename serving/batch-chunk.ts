import type { DuckDBConnection } from '@duckdb/node-api';
import { defineActivity } from '../activities/define-activity.js';
import { PARQUET_OPTIONS } from '../activities/data/dataset-writer.js';
import type { ArtifactStore } from '../lib/artifact-store.js';
import { ROW_COLUMN, SCORE_COLUMNS, ScoreChunkInput, type ScoredPart } from '../lib/batch-score-contracts.js';
import { sqlIdent, sqlString, withDuckDB } from '../lib/duckdb.js';
import { PlumbError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { type ProgressSink, ignoreProgress } from '../lib/progress.js';
import { MODEL_OUTPUTS } from '../lib/refs.js';
import type { ServingPool } from './pool.js';
import type { Feeds } from './tensors.js';

/** Rows sent to the engine at once: bounded so one chunk never holds the threads for long. */
const SLICE_ROWS = 8192;

/**
 * Scores one chunk of a validated dataset (rows [chunk·chunkRows, (chunk+1)·chunkRows)) through
 * the pool's engine and stores the part as content-addressed Parquet: id columns, label,
 * probability, model version, scored-at. The same input always yields the same bytes, so a
 * retried chunk rewrites the same object.
 */
export async function scoreChunk(
  pool: Pick<ServingPool, 'score'>,
  store: ArtifactStore,
  raw: ScoreChunkInput,
  progress: ProgressSink = ignoreProgress,
): Promise<ScoredPart> {
  const input = ScoreChunkInput.parse(raw);
  const { model, chunk, chunkRows } = input;
  const from = chunk * chunkRows;
  const to = Math.min(from + chunkRows, input.valid.rows);
  const path = await store.localPath(input.valid.sha256);
  return withDuckDB(async (db) => {
    const slice = `(SELECT * FROM read_parquet(${sqlString(path)}) WHERE ${ROW_COLUMN} >= ${from} AND ${ROW_COLUMN} < ${to})`;
    const features = model.ref.features;
    const reader = await db.runAndReadAll(`SELECT ${features.map((f) => sqlIdent(f.name)).join(', ')} FROM ${slice} ORDER BY ${ROW_COLUMN}`);
    const columns = reader.getColumnsJS();
    const rows = reader.currentRowCount;
    if (rows !== to - from) throw new PlumbError('Integrity', `chunk ${chunk} of ${input.valid.sha256} has ${rows} rows, expected ${to - from}`);
    const labels = new BigInt64Array(rows);
    const probabilities = new Float64Array(rows);
    for (let at = 0; at < rows; at += SLICE_ROWS) {
      const n = Math.min(SLICE_ROWS, rows - at);
      const feeds: Feeds = {};
      features.forEach((f, i) => {
        const values = columns[i]!.slice(at, at + n);
        feeds[f.name] = f.type === 'numeric'
          ? { type: 'float32', data: Float32Array.from(values as number[]), dims: [n, 1] }
          : { type: 'string', data: values as string[], dims: [n, 1] };
      });
      const { outputs } = await scoreLoaded(pool, model.model, String(model.version), feeds, n);
      const label = outputs[MODEL_OUTPUTS.label];
      const probs = outputs[MODEL_OUTPUTS.probabilities];
      if (label?.type !== 'int64' || probs?.type !== 'float32') throw new PlumbError('Integrity', `${model.model} v${model.version} does not return int64 label and float probabilities`);
      labels.set(label.data, at);
      for (let r = 0; r < n; r++) probabilities[at + r] = probs.data[2 * r + 1]!;
      progress({ stage: `score chunk ${chunk}`, done: at + n, total: rows, unit: 'rows' });
    }
    await loadScores(db, from, labels, probabilities);
    const tmp = await store.tempPath('.parquet');
    try {
      const ids = input.idColumns.map((c) => `v.${sqlIdent(c)}`).join(', ');
      await db.run(
        `COPY (SELECT ${ids}, s.label AS ${SCORE_COLUMNS.label}, s.probability AS ${SCORE_COLUMNS.probability}, ` +
          `CAST(${model.version} AS INTEGER) AS ${SCORE_COLUMNS.version}, CAST(${sqlString(input.scoredAt)} AS TIMESTAMP) AS ${SCORE_COLUMNS.scoredAt} ` +
          `FROM ${slice} v JOIN scores s ON v.${ROW_COLUMN} = s.${ROW_COLUMN} ORDER BY v.${ROW_COLUMN}) TO ${sqlString(tmp)} (${PARQUET_OPTIONS})`,
      );
      const stored = await store.putFile(tmp);
      return { chunk, sha256: stored.sha256, rows };
    } finally {
      await store.discard(tmp);
    }
  }, { threads: 1 });
}

async function scoreLoaded(pool: Pick<ServingPool, 'score'>, model: string, version: string, feeds: Feeds, rows: number) {
  try {
    return await pool.score(model, version, feeds, rows);
  } catch (err) {
    // Another pool process may have loaded the version and this one not converged yet: retry.
    if (err instanceof PlumbError && err.kind === 'NotFound') throw new PlumbError('Unavailable', `${err.message} yet; retrying`, { cause: err });
    throw err;
  }
}

async function loadScores(db: DuckDBConnection, from: number, labels: BigInt64Array, probabilities: Float64Array): Promise<void> {
  await db.run(`CREATE TEMP TABLE scores (${ROW_COLUMN} BIGINT, label BIGINT, probability DOUBLE)`);
  const appender = await db.createAppender('scores');
  try {
    for (let r = 0; r < labels.length; r++) {
      appender.appendBigInt(BigInt(from + r));
      appender.appendBigInt(labels[r]!);
      appender.appendDouble(probabilities[r]!);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** The serving-queue side of batch scoring, next to the pool's control activities. */
export function createBatchChunkActivities(pool: Pick<ServingPool, 'score'>, store: ArtifactStore, log: Logger) {
  return {
    batchScoreChunk: defineActivity('batchScoreChunk', ScoreChunkInput, log, (input, ctx) => scoreChunk(pool, store, input, ctx.progress)),
  };
}
