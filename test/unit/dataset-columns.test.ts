import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readDatasetColumns, readDatasetTable } from '../../lib/dataset-columns.js';
import { withDuckDB } from '../../lib/duckdb.js';

let dir: string;
let path: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumb-columns-'));
  path = join(dir, 'd.parquet');
  await withDuckDB((db) =>
    db.run(`COPY (
      SELECT i::BIGINT AS id, (i * 0.5)::DOUBLE AS x, (i % 2 = 0) AS flag,
             CASE WHEN i = 3 THEN NULL ELSE 'r' || (i % 3) END AS region,
             DATE '2024-01-01' + i::INTEGER AS day, TIMESTAMP '2024-01-01 10:00:00' + to_seconds(i) AS at,
             CASE WHEN i = 2 THEN NULL ELSE i::INTEGER END AS maybe
      FROM range(5000) t(i)) TO '${path}' (FORMAT parquet)`),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

test('reads numeric columns as Float64Array with NaN for null, across DuckDB chunks', async () => {
  const data = await readDatasetColumns(path, ['x', 'flag', 'maybe']);
  assert.equal(data.rows, 5000);
  const x = data.columns.get('x') as Float64Array;
  assert.ok(x instanceof Float64Array);
  assert.equal(x[4999], 2499.5);
  assert.deepEqual(Array.from((data.columns.get('flag') as Float64Array).slice(0, 3)), [1, 0, 1]);
  const maybe = data.columns.get('maybe') as Float64Array;
  assert.ok(Number.isNaN(maybe[2]));
  assert.equal(maybe[4000], 4000);
  assert.deepEqual(data.schema, [
    { name: 'x', type: 'double', nullable: false },
    { name: 'flag', type: 'boolean', nullable: false },
    { name: 'maybe', type: 'integer', nullable: true },
  ]);
});

test('reads text, date and timestamp columns as strings with null kept', async () => {
  const data = await readDatasetColumns(path, ['region', 'day', 'at']);
  assert.deepEqual((data.columns.get('region') as (string | null)[]).slice(0, 5), ['r0', 'r1', 'r2', null, 'r1']);
  assert.equal((data.columns.get('day') as string[])[1], '2024-01-02');
  assert.equal((data.columns.get('at') as string[])[2], '2024-01-01T10:00:02.000Z');
});

test('reads every column in dataset order when no names are given', async () => {
  const data = await readDatasetColumns(path);
  assert.deepEqual(data.schema.map((c) => c.name), ['id', 'x', 'flag', 'region', 'day', 'at', 'maybe']);
});

test('refuses a column the dataset does not have, naming it', async () => {
  await assert.rejects(readDatasetColumns(path, ['nope']), /column "nope" is not in the dataset/);
});

test('builds an Arrow table with the same values', async () => {
  const table = await readDatasetTable(path, ['x', 'region']);
  assert.equal(table.numRows, 5000);
  assert.equal(table.getChild('x')?.get(10), 5);
  assert.equal(table.getChild('region')?.get(3), null);
});
