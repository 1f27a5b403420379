import { copyFile, mkdir, rename } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import {
  AssembleScoresInput,
  type PreparedScoring,
  PrepareScoringInput,
  ROW_COLUMN,
  ResolveModelInput,
  type ResolvedModel,
} from '../lib/batch-score-contracts.js';
import { describeQuery, sqlIdent, sqlString, withDuckDB } from '../lib/duckdb.js';
import { PlumbError, badInput, notFound } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { type ProgressSink, ignoreProgress } from '../lib/progress.js';
import type { DatasetRef } from '../lib/refs.js';
import { queryRegistry } from '../lib/registry-client.js';
import type { ModelVersion, RegistryListing } from '../lib/registry-contracts.js';
import { ingestDataset } from './data/ingest.js';
import { type DataDeps, writeDataset } from './data/dataset-writer.js';
import { defineActivity } from './define-activity.js';

/** A model version from its registry (`model/<name>`): a version number or the production alias. */
export async function resolveScoringModel(client: Client, raw: ResolveModelInput): Promise<ResolvedModel> {
  const input = ResolveModelInput.parse(raw);
  let version: number;
  if (input.version === 'production') {
    const listing = await queryRegistry<RegistryListing>(client, input.model, 'list');
    if (listing.aliases.production === undefined) throw notFound(`${input.model} has no production version: pass a version number`);
    version = listing.aliases.production;
  } else {
    version = input.version;
  }
  const found = await queryRegistry<ModelVersion>(client, input.model, 'get', version);
  return { model: input.model, version, ref: found.model };
}

const pct = (share: number) => `${(100 * share).toFixed(2)}%`;

/**
 * Ingests the input when it is a file, then checks every row against the model's features before
 * anything is scored: a missing column fails the run (BadInput); a row with a missing or
 * non-numeric feature value goes to the reject dataset with its reasons. Valid rows are stored in
 * input order with a 0-based row number, so chunk `i` is rows [i·chunkRows, (i+1)·chunkRows).
 * More rejects than `maxRejectShare` fails with DataQuality (the reject file is stored first and
 * named in the message).
 */
export async function prepareScoring(raw: PrepareScoringInput, deps: DataDeps, progress: ProgressSink = ignoreProgress): Promise<PreparedScoring> {
  const parsed = PrepareScoringInput.safeParse(raw);
  if (!parsed.success) throw badInput(`prepareScoring: ${parsed.error.message}`);
  const input = parsed.data;
  const dataset: DatasetRef = 'kind' in input.input ? input.input : (await ingestDataset({ source: input.input }, deps, progress)).dataset;
  const source = `read_parquet(${sqlString(await deps.store.localPath(dataset.sha256))})`;
  return withDuckDB(async (db) => {
    const columns = new Set((await describeQuery(db, `SELECT * FROM ${source}`)).map((c) => c.name));
    const features = input.model.features;
    const missing = [...input.idColumns, ...features.map((f) => f.name)].filter((name) => !columns.has(name));
    if (missing.length) {
      throw badInput(`input (${dataset.source}) lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (model features: ${features.map((f) => f.name).join(', ')}; id columns: ${input.idColumns.join(', ')})`);
    }
    const checks = features.map((f) => {
      const id = sqlIdent(f.name);
      if (f.type === 'categorical') return `CASE WHEN ${id} IS NULL THEN '${f.name}: missing' END`;
      const number = `TRY_CAST(${id} AS DOUBLE)`;
      return `CASE WHEN ${id} IS NULL THEN '${f.name}: missing' WHEN ${number} IS NULL THEN '${f.name}: not a number' WHEN NOT isfinite(${number}) THEN '${f.name}: not finite' END`;
    });
    const ids = input.idColumns.map(sqlIdent).join(', ');
    await db.run(`CREATE TEMP TABLE checked AS SELECT *, concat_ws('; ', ${checks.join(', ')}) AS __reason FROM ${source}`);
    const selectFeatures = features
      .filter((f) => !input.idColumns.includes(f.name))
      .map((f) => (f.type === 'numeric' ? `CAST(${sqlIdent(f.name)} AS DOUBLE) AS ${sqlIdent(f.name)}` : `CAST(${sqlIdent(f.name)} AS VARCHAR) AS ${sqlIdent(f.name)}`));
    const valid = await writeDataset(
      db,
      `SELECT ${[ids, ...selectFeatures].join(', ')}, CAST(row_number() OVER () - 1 AS BIGINT) AS ${ROW_COLUMN} FROM checked WHERE __reason = ''`,
      deps,
      `rows of ${dataset.source} valid for ${input.model.sha256.slice(0, 12)}`,
    );
    const rejectedRows = dataset.rows - valid.dataset.rows;
    let rejects: DatasetRef | undefined;
    if (rejectedRows > 0) {
      rejects = (await writeDataset(db, `SELECT ${ids}, __reason AS reason FROM checked WHERE __reason <> ''`, deps, `rows of ${dataset.source} rejected before scoring`)).dataset;
      const share = rejectedRows / dataset.rows;
      if (share > input.maxRejectShare) {
        const reasons = (await db.runAndReadAll(`SELECT __reason, count(*) AS n FROM checked WHERE __reason <> '' GROUP BY 1 ORDER BY n DESC, 1 LIMIT 5`)).getRowsJS();
        throw new PlumbError(
          'DataQuality',
          `${rejectedRows} of ${dataset.rows} input rows (${pct(share)}) fail validation against ${input.model.features.length} model features, more than the allowed ${pct(input.maxRejectShare)}: ${reasons.map(([r, n]) => `${String(r)} (${String(n)} rows)`).join(', ')}; rejects stored as ${rejects.sha256}`,
          { details: { rejects: rejects.sha256, rejectedRows, inputRows: dataset.rows } },
        );
      }
      deps.log.warn('rows rejected before scoring', { rejectedRows, inputRows: dataset.rows, rejects: rejects.sha256 });
    }
    return {
      valid: valid.dataset,
      ...(rejects ? { rejects } : {}),
      inputRows: dataset.rows,
      rejectedRows,
      chunks: Math.ceil(valid.dataset.rows / input.chunkRows),
    };
  }, { threads: deps.threads });
}

/** Concatenates the scored parts in chunk order into one stored Parquet dataset (and `out`). */
export async function assembleScores(raw: AssembleScoresInput, deps: DataDeps): Promise<{ output: DatasetRef; out?: string }> {
  const input = AssembleScoresInput.parse(raw);
  const parts = [...input.parts].sort((a, b) => a.chunk - b.chunk);
  parts.forEach((p, i) => {
    if (p.chunk !== i) throw new PlumbError('Integrity', `scored parts are not contiguous: chunk ${i} is missing`);
  });
  return withDuckDB(async (db) => {
    if (parts.length === 0) throw badInput('no rows to score: every input row was rejected or the input is empty');
    const paths = await Promise.all(parts.map((p) => deps.store.localPath(p.sha256)));
    const select = `SELECT * FROM read_parquet([${paths.map(sqlString).join(', ')}])`;
    const { dataset } = await writeDataset(db, select, deps, input.source);
    let out: string | undefined;
    if (input.out) {
      out = resolve(input.out);
      await mkdir(dirname(out), { recursive: true });
      const tmp = `${out}.${process.pid}.tmp`;
      await copyFile(await deps.store.localPath(dataset.sha256), tmp);
      await rename(tmp, out);
    }
    return { output: dataset, ...(out ? { out } : {}) };
  }, { threads: deps.threads });
}

/** The control-queue side of batch scoring. */
export function createBatchScoringActivities(deps: DataDeps & { log: Logger; client?: Client }) {
  return {
    batchResolveModel: defineActivity('batchResolveModel', ResolveModelInput, deps.log, (input) =>
      resolveScoringModel(deps.client ?? Context.current().client, input),
    ),
    batchPrepare: defineActivity('batchPrepare', PrepareScoringInput, deps.log, (input, ctx) => prepareScoring(input, deps, ctx.progress)),
    batchAssemble: defineActivity('batchAssemble', AssembleScoresInput, deps.log, (input) => assembleScores(input, deps)),
  };
}
