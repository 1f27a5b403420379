import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Bool, Float64, Int32, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { generateChurnFile } from '../../activities/data/churn-generator.js';
import { ingestDataset } from '../../activities/data/ingest.js';
import { readDatasetColumns } from '../../lib/dataset-columns.js';
import { PlumbError } from '../../lib/errors.js';
import { scratch } from './data-fixtures.js';

let s: Awaited<ReturnType<typeof scratch>>;
before(async () => {
  s = await scratch();
});
after(() => s.cleanup());

const CHURN_TYPES = ['string', 'date', 'string', 'string', 'string', 'string', 'boolean', 'integer', 'double', 'double', 'integer', 'double', 'boolean'];

async function objectCount(): Promise<number> {
  const dirs = await readdir(join(s.store.root, 'objects')).catch(() => []);
  let n = 0;
  for (const d of dirs) n += (await readdir(join(s.store.root, 'objects', d))).length;
  return n;
}

describe('ingest reads every format', () => {
  const shas = new Map<string, string>();
  for (const name of ['churn.csv', 'churn.csv.gz', 'churn.tsv', 'churn.tsv.gz', 'churn.jsonl', 'churn.jsonl.gz', 'churn.parquet']) {
    test(`ingests ${name} with inferred types`, async () => {
      const path = join(s.dir, name);
      await generateChurnFile({ rows: 300, seed: 5 }, path);
      const { dataset, rejected } = await ingestDataset({ source: { path } }, s.deps);
      assert.equal(dataset.rows, 300);
      assert.deepEqual(dataset.columns.map((c) => c.type), CHURN_TYPES);
      assert.equal(dataset.columns[0]!.name, 'customer_id');
      assert.equal(rejected.count, 0);
      shas.set(name, dataset.sha256);
    });
  }

  test('text formats with the same content give the same canonical dataset', () => {
    const text = ['churn.csv', 'churn.csv.gz', 'churn.tsv', 'churn.tsv.gz', 'churn.jsonl', 'churn.jsonl.gz'].map((n) => shas.get(n));
    assert.equal(new Set(text).size, 1);
  });

  test('ingests an Arrow IPC file with nulls, keeping types and values', async () => {
    const table = new Table({
      id: vectorFromArray([1, 2, 3], new Int32()),
      score: vectorFromArray([0.5, null, 2.25], new Float64()),
      name: vectorFromArray(['a', null, 'c'], new Utf8()),
      ok: vectorFromArray([true, false, null], new Bool()),
    });
    const path = join(s.dir, 'small.arrow');
    await writeFile(path, tableToIPC(table, 'file'));
    const { dataset } = await ingestDataset({ source: { path } }, s.deps);
    assert.deepEqual(dataset.columns, [
      { name: 'id', type: 'integer', nullable: false },
      { name: 'score', type: 'double', nullable: true },
      { name: 'name', type: 'string', nullable: true },
      { name: 'ok', type: 'boolean', nullable: true },
    ]);
    const data = await readDatasetColumns(await s.store.localPath(dataset.sha256));
    assert.deepEqual(Array.from(data.columns.get('score') as Float64Array), [0.5, NaN, 2.25]);
    assert.deepEqual(data.columns.get('name'), ['a', null, 'c']);
  });

  test('ingests an Arrow IPC stream file', async () => {
    const path = join(s.dir, 'small.arrows');
    await writeFile(path, tableToIPC(new Table({ x: vectorFromArray([1.5, 2.5], new Float64()) }), 'stream'));
    const { dataset } = await ingestDataset({ source: { path } }, s.deps);
    assert.equal(dataset.rows, 2);
  });

  test('reads quoted CSV fields with delimiters, quotes and newlines inside', async () => {
    const path = await s.file('quoted.csv', 'name,note\n"Smith, J","said ""hi""\nthen left"\nplain,x\n');
    const { dataset } = await ingestDataset({ source: { path } }, s.deps);
    const data = await readDatasetColumns(await s.store.localPath(dataset.sha256));
    assert.deepEqual(data.columns.get('name'), ['Smith, J', 'plain']);
    assert.deepEqual(data.columns.get('note'), ['said "hi"\nthen left', 'x']);
  });

  test('reads a CSV with a declared delimiter and an explicit schema', async () => {
    const path = await s.file('semi.txt', 'id;when;amount\n1;2024-03-01;2.5\n2;2024-03-02;\n');
    const { dataset } = await ingestDataset(
      {
        source: { path, format: 'csv', delimiter: ';' },
        schema: [{ name: 'id', type: 'integer', nullable: false }, { name: 'when', type: 'date' }, { name: 'amount', type: 'double' }],
      },
      s.deps,
    );
    assert.deepEqual(dataset.columns, [
      { name: 'id', type: 'integer', nullable: false },
      { name: 'when', type: 'date', nullable: false },
      { name: 'amount', type: 'double', nullable: true },
    ]);
  });

  test('generates the churn data as an ingest source', async () => {
    const { dataset } = await ingestDataset({ source: { generate: 'churn', rows: 1000, seed: 2 } }, s.deps);
    assert.equal(dataset.rows, 1000);
    assert.deepEqual(dataset.columns.map((c) => c.type), CHURN_TYPES);
  });
});

describe('ingest is deterministic', () => {
  test('re-ingesting identical input yields the same sha256 and stores nothing new', async () => {
    const path = join(s.dir, 'again.csv');
    await generateChurnFile({ rows: 500, seed: 9 }, path);
    const first = await ingestDataset({ source: { path } }, s.deps);
    const before = await objectCount();
    const second = await ingestDataset({ source: { path } }, { ...s.deps, threads: 1 });
    assert.equal(second.dataset.sha256, first.dataset.sha256);
    assert.equal(second.created, false);
    assert.equal(await objectCount(), before);
  });

  test('the generator gives the same rows for the same seed and different rows for another', async () => {
    const a = await ingestDataset({ source: { generate: 'churn', rows: 2000, seed: 4 } }, s.deps);
    const b = await ingestDataset({ source: { generate: 'churn', rows: 2000, seed: 4 } }, { ...s.deps, threads: 1 });
    const c = await ingestDataset({ source: { generate: 'churn', rows: 2000, seed: 5 } }, s.deps);
    assert.equal(a.dataset.sha256, b.dataset.sha256);
    assert.notEqual(a.dataset.sha256, c.dataset.sha256);
  });
});

describe('ingest errors', () => {
  const rejects = async (input: Parameters<typeof ingestDataset>[0], message: RegExp) => {
    await assert.rejects(ingestDataset(input, s.deps), (err: unknown) => {
      assert.ok(err instanceof PlumbError, String(err));
      assert.equal(err.kind, 'BadInput');
      assert.match(err.message, message);
      return true;
    });
  };

  test('a missing file is named', async () => {
    await rejects({ source: { path: join(s.dir, 'nope.csv') } }, /^file not found: .*nope\.csv$/);
  });

  test('an empty file is refused', async () => {
    await rejects({ source: { path: await s.file('empty.csv', '') } }, /empty\.csv is empty$/);
  });

  test('an empty gzip file is refused', async () => {
    await rejects({ source: { path: await s.file('empty.csv.gz', gzipSync('')) } }, /empty\.csv\.gz is empty$/);
  });

  test('a header-only CSV is refused', async () => {
    await rejects({ source: { path: await s.file('header.csv', 'a,b\n') } }, /header\.csv has a header but no data rows$/);
  });

  test('malformed rows fail the step with their line numbers', async () => {
    const path = await s.file('bad.csv', 'a,b\n1,2\n3,4,5\n6,7\n8,9\n');
    await rejects({ source: { path } }, /1 of 4 rows are malformed \(25\.00%, more than the allowed 0\.00%\): line 3: too many columns/);
  });

  test('malformed rows within the allowed share are dropped and reported', async () => {
    const path = await s.file('some-bad.csv', 'a,b\n1,2\n3,4,5\n6,7\n8,9\n');
    const { dataset, rejected } = await ingestDataset({ source: { path }, maxBadRowShare: 0.3 }, s.deps);
    assert.equal(dataset.rows, 3);
    assert.equal(rejected.count, 1);
    assert.equal(rejected.share, 0.25);
    assert.equal(rejected.samples[0]!.line, 3);
  });

  test('a value that does not fit the declared type is named with its line', async () => {
    const path = await s.file('typed.csv', 'id,tenure\n1,12\n2,abc\n3,7\n');
    await rejects(
      { source: { path }, schema: [{ name: 'id', type: 'integer' }, { name: 'tenure', type: 'integer' }] },
      /line 3: value "abc" in column "tenure" does not fit the declared type integer/,
    );
  });

  test('a value that does not fit the inferred type is rejected with its line', async () => {
    const lines = ['x'].concat(Array.from({ length: 30000 }, (_, i) => String(i)), ['oops']);
    const path = await s.file('late.csv', lines.join('\n') + '\n');
    await rejects({ source: { path } }, /line 30002: value "oops" in column "x" does not fit the inferred type integer/);
  });

  test('a Parquet column that does not fit the declared type is named with its row', async () => {
    const csv = await s.file('mixed.csv', 'id,code\n1,10\n2,x7\n');
    const { dataset } = await ingestDataset({ source: { path: csv } }, s.deps);
    const parquet = join(s.dir, 'mixed.parquet');
    await writeFile(parquet, await s.store.get(dataset.sha256));
    await rejects(
      { source: { path: parquet }, schema: [{ name: 'id', type: 'integer' }, { name: 'code', type: 'integer' }] },
      /row 2: value "x7" in column "code" does not fit the declared type integer/,
    );
  });

  test('a schema column missing from the file is named', async () => {
    const path = await s.file('cols.csv', 'a,b\n1,2\n');
    await rejects({ source: { path }, schema: [{ name: 'a', type: 'integer' }, { name: 'c', type: 'integer' }] }, /column "c" declared in the schema is not in the file \(it has: a, b\)/);
  });

  test('nulls in a column declared not nullable are refused', async () => {
    const path = await s.file('nulls.csv', 'a,b\n1,2\n,3\n');
    await rejects({ source: { path }, schema: [{ name: 'a', type: 'integer', nullable: false }, { name: 'b', type: 'integer' }] }, /column "a" has null values but the schema declares it not nullable/);
  });

  test('a malformed JSON line is named', async () => {
    const path = await s.file('bad.jsonl', '{"a": 1}\n{"a": 2\n{"a": 3}\n');
    await rejects({ source: { path } }, /1 of 3 rows are malformed .*row 2: malformed JSON/);
  });

  test('an unsupported format is refused', async () => {
    await rejects({ source: { path: await s.file('sheet.xlsx', 'PK') } }, /unsupported format for sheet\.xlsx/);
  });

  test('a file that is not Parquet is refused', async () => {
    await rejects({ source: { path: await s.file('fake.parquet', 'not parquet at all') } }, /fake\.parquet: could not be read as parquet/);
  });
});
