import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GbdtParams, trainGbdt } from '../../activities/trainers/gbdt.js';
import { LogisticRegressionParams, trainLogisticRegression } from '../../activities/trainers/logistic-regression.js';
import { exportOnnx, type ModelSpec } from '../../activities/trainers/onnx-export.js';
import { scoreSpec } from '../../activities/trainers/spec-scoring.js';
import { featureColumn, prepareTrainingData, type TrainingData } from '../../activities/trainers/training-data.js';
import { loadClassifier, predictProbabilities } from '../../activities/onnx-classifier.js';
import { readDatasetColumns, type DatasetColumns } from '../../lib/dataset-columns.js';
import { writeChurnParquet } from '../fixtures/churn-parquet.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('built-in trainers exported to ONNX', () => {
  let dir: string;
  let train: TrainingData;
  let testSet: DatasetColumns;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-train-'));
    await writeChurnParquet(join(dir, 'train.parquet'), 3000, 1);
    await writeChurnParquet(join(dir, 'test.parquet'), 1500, 2);
    train = prepareTrainingData(await readDatasetColumns(join(dir, 'train.parquet')), 'churned');
    testSet = await readDatasetColumns(join(dir, 'test.parquet'));
    // categories never seen in training must be scored the same way by both
    const region = testSet.columns.get('region') as (string | null)[];
    for (let i = 0; i < region.length; i += 50) region[i] = 'atlantis';
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function maxDifference(spec: ModelSpec, name: string): Promise<number> {
    const path = join(dir, `${name}.onnx`);
    await writeFile(path, exportOnnx(spec, { producerVersion: 'test' }));
    const model = await loadClassifier(path);
    assert.deepEqual(model.features, train.features);
    const onnx = await predictProbabilities(model, testSet.columns, testSet.rows, { batchSize: 500 });
    const own = scoreSpec(spec, train.features.map((f) => featureColumn(testSet, f)), testSet.rows);
    let worst = 0;
    for (let i = 0; i < testSet.rows; i++) worst = Math.max(worst, Math.abs(onnx[i]! - own[i]!));
    return worst;
  }

  test('GBDT: onnxruntime probabilities equal the trainer predictions within 1e-5, missing values included', async () => {
    const { spec } = await trainGbdt(train, GbdtParams.parse({ trees: 40, validationFraction: 0.2 }));
    assert.ok(spec.trees.length > 0);
    assert.ok((await maxDifference(spec, 'gbdt')) < 1e-5);
  });

  test('logistic regression: onnxruntime probabilities equal the trainer predictions within 1e-5', async () => {
    const { spec } = await trainLogisticRegression(train, LogisticRegressionParams.parse({}));
    assert.ok((await maxDifference(spec, 'logreg')) < 1e-5);
  });

  test('GBDT with row subsampling gives a byte-identical ONNX file for the same data, parameters and seed', async () => {
    const params = GbdtParams.parse({ trees: 15, subsample: 0.7, seed: 7 });
    const a = exportOnnx((await trainGbdt(train, params)).spec, { producerVersion: 'test' });
    const b = exportOnnx((await trainGbdt(train, params)).spec, { producerVersion: 'test' });
    assert.equal(sha256(a), sha256(b));
  });

  test('GBDT builds the same model with one or two histogram threads', async () => {
    const model = async (threads: 1 | 2) => exportOnnx((await trainGbdt(train, GbdtParams.parse({ trees: 10, threads }))).spec, { producerVersion: 'test' });
    assert.equal(sha256(await model(1)), sha256(await model(2)));
  });

  test('GBDT with a different seed gives a different model', async () => {
    const a = exportOnnx((await trainGbdt(train, GbdtParams.parse({ trees: 15, subsample: 0.7, seed: 7 }))).spec, { producerVersion: 'test' });
    const b = exportOnnx((await trainGbdt(train, GbdtParams.parse({ trees: 15, subsample: 0.7, seed: 8 }))).spec, { producerVersion: 'test' });
    assert.notEqual(sha256(a), sha256(b));
  });

  test('logistic regression gives a byte-identical ONNX file for the same data and parameters', async () => {
    const params = LogisticRegressionParams.parse({ maxIterations: 30 });
    const a = exportOnnx((await trainLogisticRegression(train, params)).spec, { producerVersion: 'test' });
    const b = exportOnnx((await trainLogisticRegression(train, params)).spec, { producerVersion: 'test' });
    assert.equal(sha256(a), sha256(b));
  });

  test('GBDT stops early when the validation loss stops improving', async () => {
    const result = await trainGbdt(train, GbdtParams.parse({ trees: 500, learningRate: 0.5, earlyStoppingRounds: 3 }));
    assert.ok(result.bestIteration < 500);
    assert.equal(result.spec.trees.length, result.bestIteration);
  });

  test('training stops with the abort reason when its signal is aborted', async () => {
    const controller = new AbortController();
    let trees = 0;
    const training = trainGbdt(train, GbdtParams.parse({ trees: 50 }), {
      signal: controller.signal,
      onTree: (p) => {
        trees = p.trees;
        if (p.trees === 3) controller.abort(new Error('cancelled by the workflow'));
      },
    });
    await assert.rejects(training, /cancelled by the workflow/);
    assert.equal(trees, 3);
  });
});
