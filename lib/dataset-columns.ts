import { DuckDBInstance } from '@duckdb/node-api';
import { badInput } from './errors.js';
import type { ColumnSchema, ColumnType } from './refs.js';

/** integer/double/boolean → Float64Array (null → NaN); string/date/timestamp → strings (null → null). */
export type ColumnValues = Float64Array | (string | null)[];

export interface DatasetColumns {
  rows: number;
  schema: ColumnSchema[];
  columns: Map<string, ColumnValues>;
}

function logicalType(duckType: string): ColumnType {
  const t = duckType.toUpperCase();
  if (t === 'BOOLEAN') return 'boolean';
  if (/^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|UHUGEINT)$/.test(t)) return 'integer';
  if (t === 'FLOAT' || t === 'DOUBLE' || t.startsWith('DECIMAL')) return 'double';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  return 'string';
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
const quoteString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * Reads whole columns of a Parquet file into typed arrays: the in-memory form the trainers and
 * the evaluator work on. `names` restricts (and orders) the columns; an unknown name is BadInput.
 */
export async function readDatasetColumns(parquetPath: string, names?: string[]): Promise<DatasetColumns> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const source = `read_parquet(${quoteString(parquetPath)})`;
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
    const all: ColumnSchema[] = described
      .getRowObjectsJS()
      .map((r) => ({ name: String(r.column_name), type: logicalType(String(r.column_type)), nullable: true }));
    const schema = names
      ? names.map((n) => {
          const c = all.find((s) => s.name === n);
          if (!c) throw badInput(`column "${n}" is not in the dataset (columns: ${all.map((s) => s.name).join(', ')})`);
          return c;
        })
      : all;
    const select = schema
      .map((c) =>
        c.type === 'integer' || c.type === 'double' || c.type === 'boolean'
          ? `CAST(${quoteIdent(c.name)} AS DOUBLE)`
          : `CAST(${quoteIdent(c.name)} AS VARCHAR)`,
      )
      .join(', ');
    const countReader = await connection.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM ${source}`);
    const rows = Number(countReader.getRowObjectsJS()[0]?.n ?? 0);
    const columns = new Map<string, ColumnValues>();
    for (const c of schema) {
      columns.set(c.name, c.type === 'string' || c.type === 'date' || c.type === 'timestamp' ? new Array<string | null>(rows) : new Float64Array(rows));
    }
    if (schema.length > 0) {
      const result = await connection.run(`SELECT ${select} FROM ${source}`);
      let offset = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const values = chunk.getColumns();
        schema.forEach((c, i) => {
          const target = columns.get(c.name)!;
          const source = values[i]!;
          if (target instanceof Float64Array) {
            for (let j = 0; j < source.length; j++) {
              const v = source[j];
              target[offset + j] = v === null || v === undefined ? NaN : Number(v);
            }
          } else {
            for (let j = 0; j < source.length; j++) {
              const v = source[j];
              target[offset + j] = v === null || v === undefined ? null : String(v);
            }
          }
        });
        offset += chunk.rowCount;
      }
    }
    return { rows, schema, columns };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
