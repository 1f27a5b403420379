import { Table, Utf8, type Vector, makeVector, vectorFromArray } from 'apache-arrow';
import type { DuckDBConnection } from '@duckdb/node-api';
import { describeQuery, logicalTypes, sqlIdent, sqlString, withDuckDB } from './duckdb.js';
import { badInput } from './errors.js';
import type { ColumnSchema, ColumnType } from './refs.js';

/** integer/double/boolean → Float64Array (null → NaN); string/date/timestamp → strings (null → null). */
export type ColumnValues = Float64Array | (string | null)[];

export interface DatasetColumns {
  rows: number;
  /** The columns read, in the order asked for (or the dataset's order); `nullable` is what the data holds. */
  schema: ColumnSchema[];
  columns: Map<string, ColumnValues>;
}

const NUMERIC: ReadonlySet<ColumnType> = new Set(['integer', 'double', 'boolean']);

/** True for the logical types that `readDatasetColumns` returns as a Float64Array. */
export const isNumericType = (type: ColumnType): boolean => NUMERIC.has(type);

/**
 * Reads a Parquet dataset into columns for in-memory work (trainers, evaluation, drift): numbers
 * as one Float64Array per column, text-like values as string arrays. DuckDB does the decoding and
 * hands over column chunks, so no JavaScript object is made per row. Dates come as `YYYY-MM-DD`,
 * timestamps as ISO-8601 UTC with milliseconds.
 *
 *   const { rows, columns } = await readDatasetColumns(await store.localPath(ref.sha256), ['tenure', 'churned']);
 *   const tenure = columns.get('tenure') as Float64Array;
 */
export async function readDatasetColumns(parquetPath: string, names?: string[]): Promise<DatasetColumns> {
  return withDuckDB(async (db) => {
    const source = `read_parquet(${sqlString(parquetPath)})`;
    const described = await describeQuery(db, `SELECT * FROM ${source}`);
    const byName = new Map(described.map((c) => [c.name, c]));
    const wanted = (names ?? described.map((c) => c.name)).map((name) => {
      const column = byName.get(name);
      if (!column) throw badInput(`column "${name}" is not in the dataset (it has: ${described.map((c) => c.name).join(', ')})`);
      return column;
    });
    const typed = logicalTypes(wanted, parquetPath);
    const countRows = await db.runAndReadAll(`SELECT count(*) FROM ${source}`);
    const rows = Number(countRows.getRows()[0]?.[0] ?? 0);

    const enums = await lowCardinalityValues(db, source, typed.filter((c) => c.type === 'string').map((c) => c.name));
    const columns = typed.map(({ type }) => (isNumericType(type) ? new Float64Array(rows) : new Array<string | null>(rows)));
    const hasNull = typed.map(() => false);
    const result = await db.stream(`SELECT ${typed.map(({ name, type }) => selectAs(name, type, enums.get(name))).join(', ')} FROM ${source}`);
    let offset = 0;
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      const n = chunk.rowCount;
      for (let c = 0; c < columns.length; c++) {
        const vector = chunk.getColumnVector(c);
        const out = columns[c]!;
        if (out instanceof Float64Array) {
          for (let i = 0; i < n; i++) {
            const v = vector.getItem(i) as number | null;
            if (v === null) {
              out[offset + i] = NaN;
              hasNull[c] = true;
            } else out[offset + i] = v;
          }
        } else {
          for (let i = 0; i < n; i++) {
            const v = vector.getItem(i) as string | null;
            if (v === null) hasNull[c] = true;
            out[offset + i] = v;
          }
        }
      }
      offset += n;
    }
    return {
      rows,
      schema: typed.map(({ name, type }, i) => ({ name, type, nullable: hasNull[i]! })),
      columns: new Map(typed.map(({ name }, i) => [name, columns[i]!])),
    };
  });
}

/** Above this many distinct values a text column is decoded string by string. */
const ENUM_LIMIT = 4096;

/**
 * The distinct values of the text columns that have few of them. Such columns are read as DuckDB
 * ENUMs, whose chunks hold small integer codes into one dictionary, so each string is decoded once
 * instead of once per row (categorical features read several times faster this way).
 */
async function lowCardinalityValues(db: DuckDBConnection, source: string, names: string[]): Promise<Map<string, string[]>> {
  if (names.length === 0) return new Map();
  const approx = (await db.runAndReadAll(`SELECT ${names.map((n) => `approx_count_distinct(${sqlIdent(n)})`).join(', ')} FROM ${source}`)).getRowsJS()[0]!;
  const few = names.filter((_, i) => Number(approx[i]) < ENUM_LIMIT / 2);
  if (few.length === 0) return new Map();
  const lists = (await db.runAndReadAll(`SELECT ${few.map((n) => `list(DISTINCT ${sqlIdent(n)} ORDER BY ${sqlIdent(n)})`).join(', ')} FROM ${source}`)).getRowsJS()[0]!;
  const enums = new Map<string, string[]>();
  few.forEach((name, i) => {
    const values = ((lists[i] ?? []) as unknown[]).filter((v): v is string => typeof v === 'string');
    if (values.length > 0 && values.length <= ENUM_LIMIT) enums.set(name, values);
  });
  return enums;
}

function selectAs(name: string, type: ColumnType, enumValues?: string[]): string {
  const id = sqlIdent(name);
  if (enumValues) return `CAST(${id} AS ENUM(${enumValues.map(sqlString).join(', ')}))`;
  if (isNumericType(type)) return `CAST(${id} AS DOUBLE)`;
  if (type === 'date') return `CAST(${id} AS VARCHAR)`;
  if (type === 'timestamp') return `strftime(CAST(${id} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%gZ')`;
  return id;
}

/**
 * The same columns as an Apache Arrow table (Float64 for numbers, Utf8 for the rest), for code
 * that wants Arrow's API or IPC.
 *
 *   const table = await readDatasetTable(path, ['tenure', 'region']);
 */
export async function readDatasetTable(parquetPath: string, names?: string[]): Promise<Table> {
  const { columns } = await readDatasetColumns(parquetPath, names);
  return tableOfColumns(columns);
}

export function tableOfColumns(columns: Map<string, ColumnValues>): Table {
  const vectors: Record<string, Vector> = {};
  for (const [name, values] of columns) {
    vectors[name] = values instanceof Float64Array ? makeVector(values) : vectorFromArray(values, new Utf8());
  }
  return new Table(vectors);
}
