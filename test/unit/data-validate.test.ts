import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { ingestDataset } from '../../activities/data/ingest.js';
import { validateDataset } from '../../activities/data/validate.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { PlumbError } from '../../lib/errors.js';
import { type ExpectationInput, ValidationReport } from '../../lib/expectations.js';
import type { DatasetRef } from '../../lib/refs.js';
import { scratch } from './data-fixtures.js';

let s: Awaited<ReturnType<typeof scratch>>;
let dataset: DatasetRef;

// id unique; name null on one row; score 1..10; city x/y with one z; (city, grp) has one duplicate pair.
const CSV = `id,name,score,city,grp,code
1,a,1,x,1,AB12
2,b,2,y,1,AB13
3,c,3,x,2,AB14
4,d,4,y,2,AB15
5,e,5,x,3,AB16
6,f,6,y,3,AB17
7,g,7,x,4,AB18
8,h,8,y,4,AB19
9,i,9,z,5,AB20
10,,10,x,4,zz
`;

before(async () => {
  s = await scratch();
  dataset = (await ingestDataset({ source: { path: await s.file('v.csv', CSV) } }, s.deps)).dataset;
});
after(() => s.cleanup());

async function report(expectations: ExpectationInput[]): Promise<ValidationReport> {
  const result = await validateDataset({ dataset, suite: { name: 't', expectations }, failOnError: false }, s.deps);
  return ValidationReport.parse(JSON.parse((await s.store.get(result.report.sha256)).toString('utf8')));
}

type Case = [string, ExpectationInput, { success: boolean; observed?: unknown; unexpected?: number; samples?: unknown[] }];

const cases: Case[] = [
  ['column_exists passes', { type: 'column_exists', column: 'score' }, { success: true, observed: true }],
  ['column_exists fails', { type: 'column_exists', column: 'nope' }, { success: false, observed: false }],
  ['column_type passes', { type: 'column_type', column: 'score', columnType: 'integer' }, { success: true, observed: 'integer' }],
  ['column_type fails', { type: 'column_type', column: 'city', columnType: 'integer' }, { success: false, observed: 'string' }],
  ['not_null passes', { type: 'not_null', column: 'id' }, { success: true, unexpected: 0 }],
  ['not_null fails', { type: 'not_null', column: 'name' }, { success: false, unexpected: 1, observed: 0.1 }],
  ['not_null passes with mostly', { type: 'not_null', column: 'name', mostly: 0.9 }, { success: true, unexpected: 1 }],
  ['null_share_at_most passes', { type: 'null_share_at_most', column: 'name', max: 0.1 }, { success: true, observed: 0.1 }],
  ['null_share_at_most fails', { type: 'null_share_at_most', column: 'name', max: 0.05 }, { success: false, observed: 0.1 }],
  ['between passes', { type: 'between', column: 'score', min: 1, max: 10 }, { success: true, unexpected: 0 }],
  ['between fails with samples', { type: 'between', column: 'score', min: 2, max: 8 }, { success: false, unexpected: 3, samples: [1, 9, 10] }],
  ['between passes with mostly', { type: 'between', column: 'score', max: 9, mostly: 0.9 }, { success: true, unexpected: 1 }],
  ['in_set passes', { type: 'in_set', column: 'city', values: ['x', 'y', 'z'] }, { success: true, unexpected: 0 }],
  ['in_set fails', { type: 'in_set', column: 'city', values: ['x', 'y'] }, { success: false, unexpected: 1, samples: ['z'] }],
  ['in_set on numbers passes', { type: 'in_set', column: 'grp', values: [1, 2, 3, 4, 5] }, { success: true, unexpected: 0 }],
  ['unique passes', { type: 'unique', columns: ['id'] }, { success: true, unexpected: 0 }],
  ['unique fails', { type: 'unique', columns: ['grp'] }, { success: false, unexpected: 9 }],
  ['compound unique passes', { type: 'unique', columns: ['city', 'id'] }, { success: true, unexpected: 0 }],
  ['compound unique fails', { type: 'unique', columns: ['city', 'grp'] }, { success: false, unexpected: 2, samples: ['x, 4'] }],
  ['match_regex passes with mostly', { type: 'match_regex', column: 'code', pattern: '^AB[0-9]+$', mostly: 0.9 }, { success: true, unexpected: 1 }],
  ['match_regex fails', { type: 'match_regex', column: 'code', pattern: '^AB[0-9]+$' }, { success: false, unexpected: 1, samples: ['zz'] }],
  ['row_count_between passes', { type: 'row_count_between', min: 10, max: 10 }, { success: true, observed: 10 }],
  ['row_count_between fails', { type: 'row_count_between', min: 11 }, { success: false, observed: 10 }],
  ['mean_between passes', { type: 'mean_between', column: 'score', min: 5.5, max: 5.5 }, { success: true, observed: 5.5 }],
  ['mean_between fails', { type: 'mean_between', column: 'score', max: 5 }, { success: false, observed: 5.5 }],
  ['stddev_between passes', { type: 'stddev_between', column: 'score', min: 3, max: 3.1 }, { success: true }],
  ['stddev_between fails', { type: 'stddev_between', column: 'score', max: 1 }, { success: false }],
  ['quantile_between passes', { type: 'quantile_between', column: 'score', quantile: 0.5, min: 5.5, max: 5.5 }, { success: true, observed: 5.5 }],
  ['quantile_between fails', { type: 'quantile_between', column: 'score', quantile: 0.9, max: 9 }, { success: false, observed: 9.1 }],
];

describe('every expectation type passes on good data and fails on bad data', () => {
  let r: ValidationReport;
  before(async () => {
    r = await report(cases.map(([, e]) => e));
  });
  cases.forEach(([name, , want], i) => {
    test(name, () => {
      const got = r.results[i]!;
      assert.equal(got.success, want.success);
      if ('observed' in want) assert.equal(got.observed, want.observed);
      if (want.unexpected !== undefined) assert.equal(got.unexpectedCount, want.unexpected);
      if (want.samples !== undefined) assert.deepEqual(got.sampleUnexpected, want.samples);
    });
  });
  test('the report counts the results', () => {
    const failed = cases.filter(([, , w]) => !w.success).length;
    assert.deepEqual([r.evaluated, r.failed, r.succeeded, r.success, r.rows], [cases.length, failed, cases.length - failed, false, 10]);
  });
});

test('an expectation on a missing column fails, saying so', async () => {
  const r = await report([{ type: 'between', column: 'missing', min: 0 }]);
  assert.equal(r.results[0]!.error, 'column "missing" is not in the dataset');
});

test('a numeric expectation on a text column fails, saying so', async () => {
  const r = await report([{ type: 'mean_between', column: 'city', min: 0 }]);
  assert.equal(r.results[0]!.error, 'column "city" is string, not numeric');
});

test('a failed suite throws a DataQuality error summarising the failures, with the report ref', async () => {
  await assert.rejects(
    validateDataset({ dataset, suite: { name: 'gate', expectations: [{ type: 'not_null', column: 'name' }, { type: 'unique', columns: ['id'] }] } }, s.deps),
    (err: unknown) => {
      assert.ok(err instanceof PlumbError);
      assert.equal(err.kind, 'DataQuality');
      assert.equal(err.message, 'suite "gate" failed 1 of 2 expectations: "name" not null: 1 unexpected (10.00%)');
      assert.equal((err.details?.report as { kind: string }).kind, 'artifact');
      return true;
    },
  );
});

test('a passing suite returns its stored report', async () => {
  const result = await validateDataset({ dataset, suite: { name: 'ok', expectations: [{ type: 'unique', columns: ['id'] }] } }, s.deps);
  assert.deepEqual([result.success, result.failed, result.summary], [true, 0, 'suite "ok" passed all 1 expectations']);
  assert.equal(await s.store.has(result.report.sha256), true);
});

test('an invalid suite is refused naming the field', async () => {
  await assert.rejects(
    validateDataset({ dataset, suite: { name: 'bad', expectations: [{ type: 'between', column: 'score', mostly: 2 } as ExpectationInput] } }, s.deps),
    /validate: suite\.expectations\.0\.mostly: /,
  );
});

test('a corrupted stored dataset is detected before it is read', async () => {
  const { dataset: victim } = await ingestDataset({ source: { path: await s.file('victim.csv', 'a\n1\n2\n') } }, s.deps);
  await writeFile(await s.store.localPath(victim.sha256), 'tampered');
  // A fresh store, as another process would have: nothing verified yet.
  const deps = { ...s.deps, store: new LocalArtifactStore(s.store.root) };
  await assert.rejects(validateDataset({ dataset: victim, suite: { name: 'x', expectations: [{ type: 'row_count_between', min: 1 }] } }, deps), (err: unknown) => {
    assert.ok(err instanceof PlumbError);
    assert.equal(err.kind, 'Integrity');
    assert.match(err.message, new RegExp(`artifact ${victim.sha256} is corrupted`));
    return true;
  });
});
