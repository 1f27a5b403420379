import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ModelCard } from '../../lib/model-card.js';
import { writeChurnParquet } from '../fixtures/churn-parquet.js';

const cli = fileURLToPath(new URL('../fixtures/train-cli.ts', import.meta.url));
const plumb = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });

describe('plumb train / plumb evaluate', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-cli-'));
    await writeChurnParquet(join(dir, 'train.parquet'), 2000, 1);
    await writeChurnParquet(join(dir, 'test.parquet'), 800, 2);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('train writes model.onnx and its card, evaluate scores it and applies the gate', async () => {
    const out = join(dir, 'model.onnx');
    const trained = plumb('train', join(dir, 'train.parquet'), '--label', 'churned', '--trainer', 'gbdt', '--param', 'trees=20', '--out', out, '--json');
    assert.equal(trained.status, 0, trained.stderr);
    const summary = JSON.parse(trained.stdout) as { sha256: string; metrics: { trees: number } };
    assert.ok(summary.metrics.trees >= 1 && summary.metrics.trees <= 20);
    assert.match(trained.stderr, /^train: 1 \/ 20 trees \(5%\)/m);
    const card = ModelCard.parse(JSON.parse(await readFile(join(dir, 'model.card.json'), 'utf8')));
    assert.equal(card.model.sha256, summary.sha256);
    assert.equal(card.parameters.trees, 20);

    const evaluated = plumb('evaluate', out, join(dir, 'test.parquet'), '--label', 'churned', '--gate', 'rocAuc=0.6', '--json');
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const result = JSON.parse(evaluated.stdout) as { passed: boolean; metrics: { rows: number } };
    assert.equal(result.passed, true);
    assert.equal(result.metrics.rows, 800);

    const failed = plumb('evaluate', out, join(dir, 'test.parquet'), '--label', 'churned', '--gate', 'rocAuc=0.999');
    assert.equal(failed.status, 1);
    assert.match(failed.stdout, /FAIL: rocAuc 0\.\d+ < minimum 0\.999/);
  });

  test('an unknown trainer parameter is rejected naming the parameter', () => {
    const r = plumb('train', join(dir, 'train.parquet'), '--label', 'churned', '--trainer', 'logreg', '--param', 'depth=3', '--out', join(dir, 'x.onnx'));
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), 'plumb: logreg parameters: unknown key params.depth');
  });

  test('a bad parameter value is rejected naming the parameter', () => {
    const r = plumb('train', join(dir, 'train.parquet'), '--label', 'churned', '--trainer', 'gbdt', '--param', 'learningRate=-1', '--out', join(dir, 'x.onnx'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^plumb: gbdt parameters: params\.learningRate: /);
  });

  test('a label that is not 0/1 is rejected naming the column', () => {
    const r = plumb('train', join(dir, 'train.parquet'), '--label', 'contract', '--trainer', 'gbdt', '--out', join(dir, 'x.onnx'));
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), 'plumb: label column "contract" must be boolean or 0/1 numbers');
  });

  test('an unknown trainer is rejected', () => {
    const r = plumb('train', join(dir, 'train.parquet'), '--label', 'churned', '--trainer', 'forest', '--out', join(dir, 'x.onnx'));
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), 'plumb: --trainer "forest": expected gbdt or logreg');
  });
});
