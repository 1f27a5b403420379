import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import { formatIssues } from '../../lib/zod-issues.js';
import {
  type DataFormat,
  type DeclaredSchema,
  IngestInput,
  type IngestParams,
  type IngestResult,
} from '../../lib/data-steps.js';
import { DUCKDB_TYPE_OF, columnTypeOfDuckDB, describeQuery, logicalTypes, sqlIdent, sqlString, withDuckDB } from '../../lib/duckdb.js';
import { PlumbError, badInput } from '../../lib/errors.js';
import { type ProgressSink, ignoreProgress } from '../../lib/progress.js';
import type { ColumnType } from '../../lib/refs.js';
import { loadArrowIpc } from './arrow-ipc-source.js';
import { churnSelectSql } from './churn-generator.js';
import { type DataDeps, writeDataset } from './dataset-writer.js';

interface Rejected {
  line: number;
  error: string;
}

/** What was read from a file: a relation to select from and the rows that could not be used. */
interface ReadSource {
  relation: string;
  columns: { name: string; type: ColumnType }[];
  /** A predicate keeping the usable rows, when some rows are dropped after reading. */
  keep?: string;
  /** Counted after the canonical file is written (CSV rejects are only known after the scan). */
  rejects: (writtenRows: number) => Promise<{ total: number; count: number; samples: Rejected[] }>;
  unit: 'line' | 'row';
}

const SAMPLE_REJECTS = 10;

/**
 * Ingest step: reads CSV/TSV (optionally .gz), Parquet, JSON lines or Arrow IPC — or generates the
 * example churn data — and stores it as canonical Parquet (fixed column types, fixed writer
 * settings), so identical input always yields the same sha256 and a re-ingest stores nothing new.
 * With `schema`, names and types are enforced; otherwise they are inferred. Malformed rows (with
 * their line numbers) are dropped when their share stays within `maxBadRowShare`, else the step
 * fails naming them. A generated source (`{ generate: 'churn', … }`) is written as is: its
 * schema is known and it has no malformed rows.
 *
 *   const { dataset } = await ingestDataset({ source: { path: 'data/churn.csv.gz' } }, { store, log });
 */
export async function ingestDataset(input: IngestInput, deps: DataDeps, progress: ProgressSink = ignoreProgress): Promise<IngestResult> {
  const params = parseIngestInput(input);
  const source = params.source;
  return withDuckDB(
    async (db) => {
      if ('generate' in source) {
        const { generate: _, ...options } = source;
        const select = await churnSelectSql(db, options);
        const described = `generated churn: rows=${source.rows} seed=${source.seed} drift=${source.drift} defects=${JSON.stringify(source.defects)}`;
        const written = await writeDataset(db, select, deps, described, { progress: { sink: progress, stage: 'ingest' } });
        progress({ stage: 'ingest', done: written.dataset.rows, total: written.dataset.rows, unit: 'rows' });
        return { ...written, rejected: { count: 0, share: 0, samples: [] } };
      }
      const path = resolve(source.path);
      const format = source.format ?? formatOf(path);
      await refuseEmpty(path);
      const read = await openSource(db, path, format, source.delimiter, params.schema, deps.store);
      const select = `SELECT ${read.columns.map(({ name, type }) => `CAST(${sqlIdent(name)} AS ${DUCKDB_TYPE_OF[type]}) AS ${sqlIdent(name)}`).join(', ')} FROM ${read.relation}${read.keep ? ` WHERE ${read.keep}` : ''}`;
      let rejected: IngestResult['rejected'] = { count: 0, share: 0, samples: [] };
      const written = await writeDataset(db, select, deps, `${format} file ${basename(path)}`, {
        progress: { sink: progress, stage: 'ingest' },
        check: async ({ rows, columns }) => {
          const { total, count, samples } = await read.rejects(rows);
          if (total === 0) throw badInput(format === 'csv' || format === 'tsv' ? `${path} has a header but no data rows` : `${path} has no rows`);
          const share = count / total;
          const listed = samples.map((r) => `${read.unit} ${r.line}: ${r.error}`).join('; ');
          if (share > params.maxBadRowShare) {
            throw new PlumbError(
              'BadInput',
              `${path}: ${count} of ${total} rows are malformed (${pct(share)}, more than the allowed ${pct(params.maxBadRowShare)}): ${listed}`,
              { details: { rejected: samples, count, total } },
            );
          }
          if (rows === 0) throw badInput(`${path} has no usable rows`);
          for (const declared of params.schema ?? []) {
            const column = columns.find((c) => c.name === declared.name);
            if (!declared.nullable && column?.nullable) {
              throw badInput(`${path}: column "${declared.name}" has null values but the schema declares it not nullable`);
            }
          }
          rejected = { count, share, samples };
          if (count > 0) deps.log.warn('ingest dropped malformed rows', { path, count, total, samples: listed });
        },
      });
      progress({ stage: 'ingest', done: written.dataset.rows, total: written.dataset.rows, unit: 'rows' });
      return { ...written, rejected };
    },
    { threads: deps.threads },
  );
}

function parseIngestInput(input: IngestInput): IngestParams {
  const parsed = IngestInput.safeParse(input);
  if (!parsed.success) throw badInput(`ingest: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

const pct = (share: number) => `${(100 * share).toFixed(2)}%`;

const EXTENSIONS: [RegExp, DataFormat][] = [
  [/\.csv(\.gz)?$/i, 'csv'],
  [/\.tsv(\.gz)?$/i, 'tsv'],
  [/\.parquet$/i, 'parquet'],
  [/\.(jsonl|ndjson)(\.gz)?$/i, 'jsonl'],
  [/\.(arrow|arrows|feather|ipc)$/i, 'arrow'],
];

export function formatOf(path: string): DataFormat {
  const found = EXTENSIONS.find(([pattern]) => pattern.test(path));
  if (!found) {
    throw badInput(`unsupported format for ${basename(path)}: expected .csv, .tsv, .parquet, .jsonl/.ndjson (text ones optionally .gz) or .arrow/.feather, or pass a format`);
  }
  return found[1];
}

const isGzip = (path: string) => /\.gz$/i.test(path);

async function refuseEmpty(path: string): Promise<void> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw badInput(`file not found: ${path}`);
    throw err;
  });
  if (!info.isFile()) throw badInput(`${path} is not a file`);
  if (info.size === 0) throw badInput(`${path} is empty`);
  if (isGzip(path)) {
    const stream = createReadStream(path).pipe(createGunzip());
    try {
      for await (const chunk of stream) if ((chunk as Buffer).length > 0) return;
    } catch (err) {
      throw badInput(`${path}: not a valid gzip file (${(err as Error).message})`);
    } finally {
      stream.destroy();
    }
    throw badInput(`${path} is empty`);
  }
}

async function openSource(db: DuckDBConnection, path: string, format: DataFormat, delimiter: string | undefined, schema: DeclaredSchema | undefined, store: DataDeps['store']): Promise<ReadSource> {
  try {
    switch (format) {
      case 'csv':
      case 'tsv':
        return await openCsv(db, path, delimiter ?? (format === 'tsv' ? '\t' : ','), schema);
      case 'parquet':
        return await openTable(db, `(SELECT file_row_number + 1 AS __row, * EXCLUDE (file_row_number) FROM read_parquet(${sqlString(path)}, file_row_number = true))`, path, schema, []);
      case 'jsonl':
        return await openJsonLines(db, path, schema, store);
      case 'arrow':
        await loadArrowIpc(db, path, 'arrow_input');
        return await openTable(db, 'arrow_input', path, schema, []);
    }
  } catch (err) {
    if (err instanceof PlumbError) throw err;
    throw badInput(`${path}: could not be read as ${format}: ${(err as Error).message}`);
  }
}

async function openCsv(db: DuckDBConnection, path: string, delim: string, schema: DeclaredSchema | undefined): Promise<ReadSource> {
  // store_rejects also while sniffing: without it a few malformed lines make the sniffer give up.
  const common = `header = true, delim = ${sqlString(delim)}, store_rejects = true`;
  const header = await describeQuery(db, `SELECT * FROM read_csv(${sqlString(path)}, ${common}, all_varchar = true)`);
  let typesOption = '';
  let columns: { name: string; type: ColumnType }[];
  if (schema) {
    checkNames(header.map((c) => c.name), schema, path);
    const byName = new Map(schema.map((c) => [c.name, c.type]));
    typesOption = `, columns = {${header.map((c) => `${sqlString(c.name)}: ${sqlString(DUCKDB_TYPE_OF[byName.get(c.name)!])}`).join(', ')}}`;
    columns = schema.map(({ name, type }) => ({ name, type }));
  } else {
    columns = logicalTypes(await describeQuery(db, `SELECT * FROM read_csv(${sqlString(path)}, ${common})`), path);
  }
  const relation = `read_csv(${sqlString(path)}, ${common}${typesOption})`;
  return {
    relation,
    columns,
    unit: 'line',
    rejects: async (writtenRows) => {
      const errors = await db.runAndReadAll(
        `SELECT line, error_type, column_name, error_message FROM reject_errors ORDER BY line, column_idx`,
      );
      const byLine = new Map<number, string>();
      for (const [line, type, column, message] of errors.getRowsJS()) {
        const n = Number(line);
        if (!byLine.has(n)) byLine.set(n, describeReject(String(type), column === null ? null : String(column), String(message), schema !== undefined));
      }
      const samples = [...byLine].slice(0, SAMPLE_REJECTS).map(([line, error]) => ({ line, error }));
      return { total: writtenRows + byLine.size, count: byLine.size, samples };
    },
  };
}

function describeReject(type: string, column: string | null, message: string, declared: boolean): string {
  const cast = /Could not convert string "(.*)" to '([A-Z]+)'/.exec(message);
  if (type === 'CAST' && cast) {
    const logical = columnTypeOfDuckDB(cast[2]!) ?? cast[2]!.toLowerCase();
    return `value "${cast[1]}" in column "${column}" does not fit the ${declared ? 'declared' : 'inferred'} type ${logical}`;
  }
  return `${type.toLowerCase()}: ${message}`;
}

function checkNames(found: string[], schema: DeclaredSchema, path: string): void {
  const missing = schema.filter((c) => !found.includes(c.name)).map((c) => c.name);
  if (missing.length > 0) throw badInput(`${path}: column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} declared in the schema ${missing.length > 1 ? 'are' : 'is'} not in the file (it has: ${found.join(', ')})`);
  const extra = found.filter((name) => !schema.some((c) => c.name === name));
  if (extra.length > 0) throw badInput(`${path}: column${extra.length > 1 ? 's' : ''} ${extra.map((m) => `"${m}"`).join(', ')} ${extra.length > 1 ? 'are' : 'is'} in the file but not in the schema`);
}

/** A relation with a `__row` column: types are inferred, or the declared ones enforced row by row. */
async function openTable(db: DuckDBConnection, relation: string, path: string, schema: DeclaredSchema | undefined, earlier: Rejected[]): Promise<ReadSource> {
  const described = (await describeQuery(db, `SELECT * FROM ${relation}`)).filter((c) => c.name !== '__row');
  const countRows = async (where: string) =>
    Number((await db.runAndReadAll(`SELECT count(*) FROM ${relation}${where}`)).getRowsJS()[0]?.[0] ?? 0);
  if (!schema) {
    const total = await countRows('');
    const samples = earlier.slice(0, SAMPLE_REJECTS);
    return { relation, columns: logicalTypes(described, path), unit: 'row', rejects: async () => ({ total: total + earlier.length, count: earlier.length, samples }) };
  }
  checkNames(described.map((c) => c.name), schema, path);
  const misfit = (name: string, type: ColumnType) => `(${sqlIdent(name)} IS NOT NULL AND TRY_CAST(${sqlIdent(name)} AS ${DUCKDB_TYPE_OF[type]}) IS NULL)`;
  const anyMisfit = schema.map((c) => misfit(c.name, c.type)).join(' OR ');
  const samples = await db.runAndReadAll(
    schema
      .map((c) => `SELECT __row, ${sqlString(c.name)} AS col, CAST(${sqlIdent(c.name)} AS VARCHAR) AS val, ${sqlString(c.type)} AS type FROM ${relation} WHERE ${misfit(c.name, c.type)}`)
      .join(' UNION ALL ') + ` ORDER BY __row LIMIT ${SAMPLE_REJECTS}`,
  );
  const badCount = await countRows(` WHERE ${anyMisfit}`);
  const total = await countRows('');
  const sampled: Rejected[] = samples.getRowsJS().map(([row, col, val, type]) => ({
    line: Number(row),
    error: `value "${String(val)}" in column "${String(col)}" does not fit the declared type ${String(type)}`,
  }));
  const rejectedSamples = [...earlier, ...sampled].slice(0, SAMPLE_REJECTS);
  return {
    relation,
    columns: schema.map(({ name, type }) => ({ name, type })),
    keep: `NOT (${anyMisfit})`,
    unit: 'row',
    rejects: async () => ({ total: total + earlier.length, count: earlier.length + badCount, samples: rejectedSamples }),
  };
}

async function openJsonLines(db: DuckDBConnection, path: string, schema: DeclaredSchema | undefined, store: DataDeps['store']): Promise<ReadSource> {
  const read = (file: string) =>
    db.run(`CREATE OR REPLACE TEMP TABLE json_input AS SELECT * FROM read_json(${sqlString(file)}, format = 'newline_delimited')`);
  let malformed: Rejected[] = [];
  try {
    await read(path);
  } catch (err) {
    if (!/json/i.test((err as Error).message)) throw err;
    // Only when DuckDB refuses the file: find the bad lines and read the good ones from a copy.
    const good = await store.tempPath('.jsonl');
    try {
      malformed = await copyWellFormedJsonLines(path, good);
      if (malformed.length === 0) throw err;
      await read(good);
    } finally {
      await store.discard(good);
    }
  }
  return openTable(db, '(SELECT rowid + 1 AS __row, * FROM json_input)', path, schema, malformed);
}

/** Copies the lines that are JSON objects to `out` and returns the others with their line numbers. */
async function copyWellFormedJsonLines(path: string, out: string): Promise<Rejected[]> {
  const input = isGzip(path) ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  const output = createWriteStream(out);
  const bad: Rejected[] = [];
  let line = 0;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) bad.push({ line, error: 'not a JSON object' });
      else if (!output.write(text + '\n')) await once(output, 'drain');
    } catch (err) {
      bad.push({ line, error: `malformed JSON: ${(err as Error).message}` });
    }
  }
  output.end();
  await finished(output);
  return bad;
}
