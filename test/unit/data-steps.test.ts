import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createDataActivities } from '../../activities/data/data-activities.js';
import { storedDatasetRef } from '../../activities/data/dataset-writer.js';
import { buildFeatures } from '../../activities/data/features.js';
import { ingestDataset } from '../../activities/data/ingest.js';
import { profileDataset, readDatasetProfile } from '../../activities/data/profile.js';
import { splitDataset } from '../../activities/data/split.js';
import type { ValidateResult } from '../../lib/data-steps.js';
import { readDatasetColumns } from '../../lib/dataset-columns.js';
import { DatasetProfile } from '../../lib/dataset-profile.js';
import { PlumbError } from '../../lib/errors.js';
import type { DatasetRef } from '../../lib/refs.js';
import { churnExpectations, churnFeatureOptions, churnFeaturesSql } from '../../pipelines/churn/data.js';
import { scratch } from './data-fixtures.js';

let s: Awaited<ReturnType<typeof scratch>>;
let churn: DatasetRef;

before(async () => {
  s = await scratch();
  churn = (await ingestDataset({ source: { generate: 'churn', rows: 4000, seed: 11 } }, s.deps)).dataset;
});
after(() => s.cleanup());

describe('profile', () => {
  let profile: DatasetProfile;
  before(async () => {
    const { profile: ref } = await profileDataset({ dataset: churn }, s.deps);
    profile = DatasetProfile.parse(JSON.parse((await s.store.get(ref.sha256)).toString('utf8')));
  });

  test('numeric columns carry decile edges whose bin counts add up to the non-null count', () => {
    const tenure = profile.columns.find((c) => c.name === 'tenure_months')!;
    assert.equal(tenure.numeric!.bins.counts.length, tenure.numeric!.bins.edges.length - 1);
    assert.equal(tenure.numeric!.bins.counts.reduce((a, b) => a + b, 0), tenure.count);
    assert.equal(tenure.numeric!.bins.edges[0], tenure.numeric!.min);
    assert.equal(tenure.numeric!.bins.edges.at(-1), tenure.numeric!.max);
  });

  test('categorical columns carry exact value counts', () => {
    const contract = profile.columns.find((c) => c.name === 'contract')!;
    assert.deepEqual(contract.categorical!.top.map((t) => t.value).sort(), ['month-to-month', 'one-year', 'two-year']);
    assert.equal(contract.categorical!.top.reduce((a, t) => a + t.count, 0), 4000);
    assert.equal(contract.categorical!.otherCount, 0);
  });

  test('the profile can be found from the dataset it describes', async () => {
    assert.deepEqual(await readDatasetProfile(s.store, churn.sha256), profile);
    assert.equal(await readDatasetProfile(s.store, 'f'.repeat(64)), undefined);
  });

  test('dates get their range and every column its null count', () => {
    const signup = profile.columns.find((c) => c.name === 'signup_date')!;
    assert.equal(typeof signup.range!.min, 'string');
    assert.ok(profile.columns.every((c) => c.nulls === 0 && c.count === 4000));
  });
});

describe('features', () => {
  test('runs the SQL over the view "input" and records the feature schema in order', async () => {
    const result = await buildFeatures({ dataset: churn, sql: churnFeaturesSql, ...churnFeatureOptions, exclude: [...churnFeatureOptions.exclude] }, s.deps);
    assert.equal(result.dataset.rows, 4000);
    assert.deepEqual(result.features.map((f) => `${f.name}:${f.type}`), [
      'tenure_months:numeric', 'monthly_charges:numeric', 'total_charges:numeric', 'support_calls:numeric', 'log_usage_gb:numeric',
      'senior_citizen:numeric', 'avg_monthly_spend:numeric', 'contract:categorical', 'payment_method:categorical',
      'internet_service:categorical', 'region:categorical',
    ]);
    const stored = JSON.parse((await s.store.get(result.schema.sha256)).toString('utf8')) as { features: unknown };
    assert.deepEqual(stored.features, result.features);
  });

  test('a label the SQL does not return is refused', async () => {
    await assert.rejects(buildFeatures({ dataset: churn, sql: 'SELECT tenure_months FROM input', label: 'churned' }, s.deps), /the label "churned" is not among the SQL's columns \(tenure_months\)/);
  });

  test('SQL that does not run is refused with DuckDB\'s reason', async () => {
    await assert.rejects(buildFeatures({ dataset: churn, sql: 'SELECT nope FROM input', label: 'churned' }, s.deps), /features: the SQL does not run over the view "input": .*nope/);
  });
});

describe('split', () => {
  test('is deterministic and partitions every row exactly once', async () => {
    const a = await splitDataset({ dataset: churn, by: 'customer_id', test: 0.2, validation: 0.1 }, s.deps);
    const b = await splitDataset({ dataset: churn, by: 'customer_id', test: 0.2, validation: 0.1 }, { ...s.deps, threads: 1 });
    assert.deepEqual([a.train.sha256, a.test.sha256, a.validation?.sha256], [b.train.sha256, b.test.sha256, b.validation?.sha256]);
    const ids = async (d: DatasetRef) => (await readDatasetColumns(await s.store.localPath(d.sha256), ['customer_id'])).columns.get('customer_id') as string[];
    const parts = [await ids(a.train), await ids(a.test), await ids(a.validation!)];
    const all = parts.flat();
    assert.equal(all.length, 4000);
    assert.equal(new Set(all).size, 4000);
    assert.ok(Math.abs(parts[1]!.length / 4000 - 0.2) < 0.03, `test share ${parts[1]!.length / 4000}`);
  });

  test('the assignment is the portable md5 rule, reproducible outside DuckDB', async () => {
    // fraction = the upper 64 bits of md5(id || salt), little-endian, top 53 bits / 2^53.
    const fraction = (id: string) => {
      const digest = createHash('md5').update(id + 'pepper').digest();
      return Number(digest.readBigUInt64LE(8) >> 11n) / 2 ** 53;
    };
    const { test: testPart } = await splitDataset({ dataset: churn, by: 'customer_id', test: 0.2, salt: 'pepper' }, s.deps);
    const all = (await readDatasetColumns(await s.store.localPath(churn.sha256), ['customer_id'])).columns.get('customer_id') as string[];
    const got = (await readDatasetColumns(await s.store.localPath(testPart.sha256), ['customer_id'])).columns.get('customer_id') as string[];
    assert.deepEqual(got, all.filter((id) => fraction(id) < 0.2));
  });

  test('a row stays in its part when other rows are added', async () => {
    const bigger = (await ingestDataset({ source: { generate: 'churn', rows: 6000, seed: 11 } }, s.deps)).dataset;
    const small = await splitDataset({ dataset: churn, by: 'customer_id', test: 0.25 }, s.deps);
    const large = await splitDataset({ dataset: bigger, by: 'customer_id', test: 0.25 }, s.deps);
    const ids = async (d: DatasetRef) => new Set((await readDatasetColumns(await s.store.localPath(d.sha256), ['customer_id'])).columns.get('customer_id') as string[]);
    const smallTest = await ids(small.test);
    const largeTest = await ids(large.test);
    assert.ok([...smallTest].every((id) => largeTest.has(id)));
  });

  test('stratification keeps the label proportions in each part', async () => {
    const { train, test: testPart } = await splitDataset({ dataset: churn, by: 'customer_id', test: 0.3, stratify: 'churned' }, s.deps);
    const rate = async (d: DatasetRef) => {
      const y = (await readDatasetColumns(await s.store.localPath(d.sha256), ['churned'])).columns.get('churned') as Float64Array;
      return y.reduce((a, b) => a + b, 0) / y.length;
    };
    assert.ok(Math.abs((await rate(train)) - (await rate(testPart))) < 0.005);
  });

  test('an unknown id column is refused', async () => {
    await assert.rejects(splitDataset({ dataset: churn, by: 'nope', test: 0.2 }, s.deps), /split: column "nope" is not in the dataset/);
  });

  test('fractions that leave nothing to train on are refused', async () => {
    await assert.rejects(splitDataset({ dataset: churn, by: 'customer_id', test: 0.6, validation: 0.4 }, s.deps), /split: validation: test \+ validation must leave rows for training/);
  });
});

describe('stored datasets', () => {
  test('a sha256 names a stored dataset', async () => {
    const ref = await storedDatasetRef(s.deps, churn.sha256);
    assert.deepEqual([ref.rows, ref.columns], [churn.rows, churn.columns]);
  });

  test('a traversal attempt instead of a sha256 is refused', async () => {
    await assert.rejects(storedDatasetRef(s.deps, '../../etc/passwd'), (err: unknown) => err instanceof PlumbError && err.kind === 'BadInput' && /invalid artifact id/.test(err.message));
    assert.throws(() => s.store.namedPath('profiles/../../../etc/passwd'), /invalid artifact key/);
  });
});

describe('data activities', () => {
  test('a failed suite is a non-retryable PlumbDataQuality failure', async () => {
    const activities = createDataActivities(s.deps);
    const env = new MockActivityEnvironment();
    const defects = (await ingestDataset({ source: { generate: 'churn', rows: 2000, seed: 1, defects: { outOfRange: 0.05 } } }, s.deps)).dataset;
    await assert.rejects(env.run(activities.validate, { dataset: defects, suite: churnExpectations }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'PlumbDataQuality');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /suite "churn" failed/);
      return true;
    });
  });

  test('the example churn data passes the example suite and heartbeats progress', async () => {
    const activities = createDataActivities(s.deps);
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const result = (await env.run(activities.validate, { dataset: churn, suite: churnExpectations })) as ValidateResult;
    assert.equal(result.success, true);
    assert.deepEqual(beats[0], { stage: 'validate', done: 1, unit: 'passes' });
  });

  test('bad activity input is a BadInput failure naming the field', async () => {
    const env = new MockActivityEnvironment();
    await assert.rejects(env.run(createDataActivities(s.deps).split, { dataset: churn, by: 'customer_id', test: 2 }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'PlumbBadInput');
      assert.match(err.message, /^split: test: /);
      return true;
    });
  });
});
