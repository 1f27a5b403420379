import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { badInput } from './errors.js';
import type { ColumnType } from './refs.js';

export interface DuckDBOptions {
  /** Worker threads; DuckDB's default (all cores) when absent. */
  threads?: number;
}

/**
 * Runs `fn` with a fresh in-memory DuckDB connection and closes it afterwards. Insertion order is
 * always preserved: canonical Parquet files must come out byte-identical for identical input, and
 * feature/split outputs keep the input's row order.
 *
 *   const rows = await withDuckDB((db) => db.runAndReadAll('select 42'));
 */
export async function withDuckDB<T>(fn: (db: DuckDBConnection) => Promise<T>, options: DuckDBOptions = {}): Promise<T> {
  const settings: Record<string, string> = { preserve_insertion_order: 'true' };
  if (options.threads !== undefined) settings.threads = String(options.threads);
  const instance = await DuckDBInstance.create(':memory:', settings);
  const db = await instance.connect();
  await db.run(`SET TimeZone = 'UTC'`);
  try {
    return await fn(db);
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/** A SQL string literal. */
export const sqlString = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** A quoted SQL identifier, safe for any column name. */
export const sqlIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** The logical plumb type of a DuckDB column type name, or undefined when plumb has none for it. */
export function columnTypeOfDuckDB(duckType: string): ColumnType | undefined {
  const t = duckType.toUpperCase();
  if (t === 'BOOLEAN') return 'boolean';
  if (/^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT))$/.test(t)) return 'integer';
  if (t === 'FLOAT' || t === 'DOUBLE' || t.startsWith('DECIMAL')) return 'double';
  if (t === 'VARCHAR') return 'string';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  return undefined;
}

/** The DuckDB type a logical type is stored as in canonical Parquet. */
export const DUCKDB_TYPE_OF: Record<ColumnType, string> = {
  boolean: 'BOOLEAN',
  integer: 'BIGINT',
  double: 'DOUBLE',
  string: 'VARCHAR',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
};

export interface DescribedColumn {
  name: string;
  duckType: string;
}

/** Column names and DuckDB types of a query's result, without running it over the data. */
export async function describeQuery(db: DuckDBConnection, sql: string): Promise<DescribedColumn[]> {
  const reader = await db.runAndReadAll(`DESCRIBE ${sql}`);
  return reader.getRowObjectsJS().map((r) => ({ name: String(r.column_name), duckType: String(r.column_type) }));
}

/** Maps described columns to logical types, refusing the ones plumb cannot carry. */
export function logicalTypes(columns: DescribedColumn[], what: string): { name: string; type: ColumnType }[] {
  return columns.map(({ name, duckType }) => {
    const type = columnTypeOfDuckDB(duckType);
    if (!type) {
      throw badInput(
        `${what}: column "${name}" has type ${duckType}, which plumb does not support (use boolean, integer, double, string, date or timestamp)`,
      );
    }
    return { name, type };
  });
}
