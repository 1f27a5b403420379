import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { DatasetRef } from '../../lib/refs.js';
import { DatasetProfile } from '../../lib/dataset-profile.js';
import { ValidationReport } from '../../lib/expectations.js';

let dir: string;
const plumb = (...args: string[]) =>
  spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'plumb.js'), '--config', join(dir, 'stack.yml'), ...args], { encoding: 'utf8' });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumb-cli-'));
  await writeFile(join(dir, 'stack.yml'), 'artifacts:\n  dir: store\n');
});
after(() => rm(dir, { recursive: true, force: true }));

test('generate, ingest --json, validate and profile work end to end as commands', async () => {
  const csv = join(dir, 'churn.csv.gz');
  const gen = plumb('data', 'generate', 'churn', '--rows', '1500', '--seed', '3', '--out', csv);
  assert.equal(gen.status, 0, gen.stderr);

  const ingest = plumb('data', 'ingest', csv, '--json');
  assert.equal(ingest.status, 0, ingest.stderr);
  const ref = DatasetRef.parse(JSON.parse(ingest.stdout));
  assert.equal(ref.rows, 1500);

  const validate = plumb('data', 'validate', ref.sha256, '--suite', join(import.meta.dirname, '../../pipelines/churn/data.ts'), '--json');
  assert.equal(validate.status, 0, validate.stderr);
  assert.equal(ValidationReport.parse(JSON.parse(validate.stdout)).success, true);

  const profile = plumb('data', 'profile', ref.sha256, '--json');
  assert.equal(profile.status, 0, profile.stderr);
  assert.equal(DatasetProfile.parse(JSON.parse(profile.stdout)).rows, 1500);
});

test('validate exits 1 and prints the report when the suite fails', async () => {
  const bad = join(dir, 'defects.parquet');
  assert.equal(plumb('data', 'generate', 'churn', '--rows', '1000', '--defects', 'nulls=0.05', '--out', bad).status, 0);
  const suite = join(dir, 'suite.json');
  await writeFile(suite, JSON.stringify({ name: 'strict', expectations: [{ type: 'not_null', column: 'region' }] }));
  const run = plumb('data', 'validate', bad, '--suite', suite);
  assert.equal(run.status, 1);
  assert.match(run.stdout, /FAIL "region" not null: \d+ unexpected/);
  assert.match(run.stderr, /plumb: suite "strict" failed 1 of 1 expectations/);
});

test('bad options are refused with one clear line', () => {
  const run = plumb('data', 'generate', 'churn', '--rows', '10', '--defects', 'typos=0.1', '--out', join(dir, 'x.csv'));
  assert.equal(run.status, 1);
  assert.match(run.stderr, /plumb: --defects typos=0\.1: expected name=share pairs with names nulls, out-of-range, wrong-types/);
});
