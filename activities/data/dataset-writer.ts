import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactStore } from '../../lib/artifact-store.js';
import { describeQuery, logicalTypes, sqlString, withDuckDB } from '../../lib/duckdb.js';
import { PlumbError, badInput } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { ProgressSink } from '../../lib/progress.js';
import { type ArtifactRef, type DatasetRef, artifactUri } from '../../lib/refs.js';

export interface DataDeps {
  store: ArtifactStore;
  log: Logger;
  /** DuckDB threads; all cores when absent. */
  threads?: number;
}

/**
 * Fixed Parquet writer options: with insertion order preserved, the same rows always produce the
 * same bytes, so a re-run names the same object and stores nothing new.
 */
export const PARQUET_OPTIONS = 'FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880';

export interface WrittenDataset {
  dataset: DatasetRef;
  created: boolean;
}

export interface WriteOptions {
  progress?: { sink: ProgressSink; stage: string };
  /** Runs after the file is written and before it is stored; throwing here stores nothing. */
  check?: (written: Pick<DatasetRef, 'rows' | 'columns'>) => Promise<void>;
}

/** Runs `select`, writes the result as canonical Parquet into the store and describes it. */
export async function writeDataset(
  db: DuckDBConnection,
  select: string,
  deps: DataDeps,
  source: string,
  options: WriteOptions = {},
): Promise<WrittenDataset> {
  const { progress } = options;
  const tmp = await deps.store.tempPath('.parquet');
  try {
    const copy = `COPY (${select}) TO ${sqlString(tmp)} (${PARQUET_OPTIONS})`;
    if (progress) await runWithProgress(db, copy, progress.sink, progress.stage);
    else await db.run(copy);
    const described = await describeParquet(db, tmp, source);
    await options.check?.(described);
    const stored = await deps.store.putFile(tmp);
    return {
      created: stored.created,
      dataset: {
        kind: 'dataset',
        uri: artifactUri(stored.sha256),
        sha256: stored.sha256,
        ...described,
        source,
        createdAt: new Date().toISOString(),
      },
    };
  } finally {
    await deps.store.discard(tmp);
  }
}

/** Row count and column schema of a Parquet file, from its metadata (nullable = has nulls). */
export async function describeParquet(db: DuckDBConnection, path: string, what: string): Promise<Pick<DatasetRef, 'rows' | 'columns'>> {
  const columns = logicalTypes(await describeQuery(db, `SELECT * FROM read_parquet(${sqlString(path)})`), what);
  const meta = await db.runAndReadAll(
    `SELECT path_in_schema, sum(stats_null_count) FROM parquet_metadata(${sqlString(path)}) GROUP BY path_in_schema`,
  );
  const nulls = new Map<string, number>();
  for (const [column, n] of meta.getRowsJS()) nulls.set(String(column), Number(n ?? 0));
  const rowsReader = await db.runAndReadAll(`SELECT num_rows FROM parquet_file_metadata(${sqlString(path)})`);
  const rows = Number(rowsReader.getRowsJS()[0]?.[0] ?? 0);
  return { rows, columns: columns.map((c) => ({ ...c, nullable: (nulls.get(c.name) ?? 0) > 0 })) };
}

/** A DatasetRef for a dataset already in the store, named by its sha256 (verified). */
export async function storedDatasetRef(deps: DataDeps, sha256: string): Promise<DatasetRef> {
  const path = await deps.store.localPath(sha256);
  const described = await withDuckDB((db) => describeParquet(db, path, sha256)).catch((err: Error) => {
    if (err instanceof PlumbError) throw err;
    throw badInput(`artifact ${sha256} is not a Parquet dataset: ${err.message}`);
  });
  return { kind: 'dataset', uri: artifactUri(sha256), sha256, ...described, source: `stored dataset ${sha256.slice(0, 12)}`, createdAt: new Date().toISOString() };
}

/** Reports DuckDB's own progress (rows processed) every half second while a statement runs. */
export async function runWithProgress(db: DuckDBConnection, sql: string, sink: ProgressSink, stage: string): Promise<void> {
  const timer = setInterval(() => {
    const p = db.progress;
    const total = Number(p.total_rows_to_process);
    if (total > 0) sink({ stage, done: Math.min(Number(p.rows_processed), total), total, unit: 'rows' });
  }, 500);
  try {
    await db.run(sql);
  } finally {
    clearInterval(timer);
  }
}

/** Stores a JSON document (a report, a profile, a schema) and returns its ref. */
export async function storeJson(store: ArtifactStore, value: unknown): Promise<ArtifactRef> {
  const stored = await store.put(JSON.stringify(value, null, 2));
  return { kind: 'artifact', uri: artifactUri(stored.sha256), sha256: stored.sha256, bytes: stored.bytes, mediaType: 'application/json' };
}

/** The SQL source of a stored dataset, verified against its hash first. */
export async function datasetSource(store: ArtifactStore, dataset: DatasetRef): Promise<string> {
  return `read_parquet(${sqlString(await store.localPath(dataset.sha256))})`;
}
