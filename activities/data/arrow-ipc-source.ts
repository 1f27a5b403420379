import { createReadStream } from 'node:fs';
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { DuckDBDateValue, DuckDBTimestampValue } from '@duckdb/node-api';
import { type DataType, type Field, RecordBatchReader, Type } from 'apache-arrow';
import { sqlIdent } from '../../lib/duckdb.js';
import { badInput } from '../../lib/errors.js';

type Append = (appender: DuckDBAppender, value: unknown) => void;

interface ColumnLoader {
  duckType: string;
  append: Append;
}

const MS_PER_DAY = 86_400_000;

/**
 * Loads an Arrow IPC file (file or stream format) into a DuckDB table, batch by batch. DuckDB has
 * no built-in Arrow IPC reader, so the values go through the appender; a `__row` column keeps the
 * 1-based row number for error messages.
 */
export async function loadArrowIpc(db: DuckDBConnection, path: string, table: string): Promise<number> {
  let reader: RecordBatchReader;
  try {
    reader = await RecordBatchReader.from(createReadStream(path));
    await reader.open();
  } catch (err) {
    throw badInput(`${path}: not a valid Arrow IPC file (${(err as Error).message})`);
  }
  const fields = reader.schema.fields;
  const loaders = fields.map((f) => loaderFor(f, path));
  await db.run(
    `CREATE TEMP TABLE ${sqlIdent(table)} (__row BIGINT, ${fields.map((f, i) => `${sqlIdent(f.name)} ${loaders[i]!.duckType}`).join(', ')})`,
  );
  const appender = await db.createAppender(table);
  let row = 0;
  try {
    for await (const batch of reader) {
      const columns = fields.map((_, i) => batch.getChildAt(i)!);
      for (let r = 0; r < batch.numRows; r++) {
        appender.appendBigInt(BigInt(++row));
        for (let c = 0; c < columns.length; c++) {
          const value: unknown = columns[c]!.get(r);
          if (value === null || value === undefined) appender.appendNull();
          else loaders[c]!.append(appender, value);
        }
        appender.endRow();
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return row;
}

function loaderFor(field: Field, path: string): ColumnLoader {
  const type: DataType = field.type;
  switch (type.typeId) {
    case Type.Int:
      return { duckType: 'BIGINT', append: (a, v) => a.appendBigInt(BigInt(v as number | bigint)) };
    case Type.Float:
    case Type.Decimal:
      return { duckType: 'DOUBLE', append: (a, v) => a.appendDouble(Number(v)) };
    case Type.Bool:
      return { duckType: 'BOOLEAN', append: (a, v) => a.appendBoolean(Boolean(v)) };
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Dictionary:
      return { duckType: 'VARCHAR', append: (a, v) => a.appendVarchar(String(v)) };
    case Type.Date:
      return { duckType: 'DATE', append: (a, v) => a.appendDate(new DuckDBDateValue(Math.floor(Number(v) / MS_PER_DAY))) };
    case Type.Timestamp:
      return { duckType: 'TIMESTAMP', append: (a, v) => a.appendTimestamp(new DuckDBTimestampValue(BigInt(Math.round(Number(v) * 1000)))) };
    default:
      throw badInput(`${path}: column "${field.name}" has Arrow type ${String(type)}, which plumb does not support`);
  }
}
