import { DuckDBInstance, type DuckDBConnection, type JS } from '@duckdb/node-api';
import type { ParquetSource } from '../../lib/drift-contracts.js';
import { PlumbError, badInput, notFound } from '../../lib/errors.js';

/**
 * A throw-away in-memory DuckDB connection for one monitoring step, plus the quoting the steps
 * need to put column names and paths that come from outside into SQL safely.
 */
export interface SqlSession {
  rows(sql: string): Promise<Record<string, JS>[]>;
  /** The first column of a query returning DOUBLE values without nulls, in result order. */
  doubles(sql: string): Promise<Float64Array>;
  run(sql: string): Promise<void>;
  close(): void;
}

export async function openSqlSession(): Promise<SqlSession> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn: DuckDBConnection = await instance.connect();
  // Two reader connections let one sample be sorted by DuckDB while the other is copied into JS.
  const idle: DuckDBConnection[] = [await instance.connect(), await instance.connect()];
  const waiting: ((c: DuckDBConnection) => void)[] = [];
  const acquire = () => new Promise<DuckDBConnection>((resolve) => (idle.length ? resolve(idle.pop()!) : waiting.push(resolve)));
  const release = (c: DuckDBConnection) => (waiting.length ? waiting.shift()!(c) : idle.push(c));
  return {
    rows: async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS(),
    doubles: async (sql) => {
      const reader = await acquire();
      try {
        const result = await reader.run(sql);
        const chunks: Float64Array[] = [];
        let total = 0;
        for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
          const vector = chunk.getColumnVector(0);
          const values = new Float64Array(chunk.rowCount);
          for (let i = 0; i < values.length; i++) values[i] = vector.getItem(i) as number;
          chunks.push(values);
          total += values.length;
        }
        const all = new Float64Array(total);
        let offset = 0;
        for (const c of chunks) {
          all.set(c, offset);
          offset += c.length;
        }
        return all;
      } finally {
        release(reader);
      }
    },
    run: async (sql) => {
      await conn.run(sql);
    },
    close: () => {
      for (const c of idle) c.closeSync();
      conn.closeSync();
      instance.closeSync();
    },
  };
}

export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;
export const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;
/**
 * Creates view `name` over the files of `source` (CSV when every path ends in .csv, Parquet
 * otherwise), after checking every path or glob matches at least one file (NotFound naming
 * `field` otherwise).
 */
export async function fileView(session: SqlSession, name: string, source: ParquetSource, field: string): Promise<void> {
  const paths = typeof source === 'string' ? [source] : source;
  for (const path of paths) {
    const [row] = await session.rows(`SELECT count(*)::INTEGER AS n FROM glob(${literal(path)})`);
    if (!row || row.n === 0) throw notFound(`${field}: no file matches "${path}"`);
  }
  const list = `[${paths.map(literal).join(', ')}]`;
  const csv = paths.every((p) => p.toLowerCase().endsWith('.csv'));
  const reader = csv ? `read_csv(${list}, header = true, union_by_name = true)` : `read_parquet(${list}, union_by_name = true)`;
  try {
    await session.run(`CREATE VIEW ${ident(name)} AS SELECT * FROM ${reader}`);
    await session.rows(`SELECT * FROM ${ident(name)} LIMIT 0`);
  } catch (err) {
    throw badInput(`${field}: cannot read as ${csv ? 'CSV' : 'Parquet'} (${paths.join(', ')}): ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Column name → DuckDB type of a view. */
export async function columnTypes(session: SqlSession, view: string): Promise<Map<string, string>> {
  const rows = await session.rows(`DESCRIBE ${ident(view)}`);
  return new Map(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*|BOOLEAN)$/;

/** Checks `column` exists in `view` (and is numeric when asked), naming `field` in the error. */
export function requireColumn(types: Map<string, string>, column: string, numeric: boolean, field: string, side: string): void {
  const type = types.get(column);
  if (type === undefined) throw badInput(`${field}: no column "${column}" in the ${side} data`);
  if (numeric && !NUMERIC.test(type)) {
    throw new PlumbError('BadInput', `${field}: column "${column}" of the ${side} data is ${type}, expected a numeric type for a numeric feature`);
  }
}
