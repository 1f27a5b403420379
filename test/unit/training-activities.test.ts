import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { judge } from '../../activities/evaluate.js';
import { createTrainingActivities } from '../../activities/training-activities.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { readDatasetColumns } from '../../lib/dataset-columns.js';
import { createLogger } from '../../lib/logger.js';
import { classificationMetrics } from '../../lib/metrics/classification.js';
import { ModelCard } from '../../lib/model-card.js';
import type { Progress } from '../../lib/progress.js';
import { artifactUri, ModelRef, type DatasetRef } from '../../lib/refs.js';
import { writeChurnParquet } from '../fixtures/churn-parquet.js';

/** Runs an activity in Temporal's mock activity context, keeping its input and output types. */
const run = <I, O>(env: MockActivityEnvironment, fn: (input: I) => Promise<O>, input: I): Promise<O> => env.run(fn, input) as Promise<O>;

describe('training activities', () => {
  let dir: string;
  let store: LocalArtifactStore;
  let train: DatasetRef;
  let testSet: DatasetRef;
  let activities: ReturnType<typeof createTrainingActivities>;

  async function dataset(name: string, rows: number, seed: number): Promise<DatasetRef> {
    const path = join(dir, name);
    await writeChurnParquet(path, rows, seed);
    const stored = await store.putFile(path);
    const data = await readDatasetColumns(path);
    return { kind: 'dataset', uri: artifactUri(stored.sha256), sha256: stored.sha256, rows, columns: data.schema, source: name, createdAt: new Date().toISOString() };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-activities-'));
    store = new LocalArtifactStore(join(dir, 'store'));
    activities = createTrainingActivities({ store, log: createLogger({ level: 'error' }) });
    train = await dataset('train.parquet', 2000, 1);
    testSet = await dataset('test.parquet', 800, 2);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('train heartbeats each tree and returns a model ref and a card naming its inputs', async () => {
    const env = new MockActivityEnvironment();
    const beats: Progress[] = [];
    env.on('heartbeat', (d: Progress | undefined) => d && beats.push(d));
    const result = await run(env, activities.train, { dataset: train, label: 'churned', trainer: 'gbdt', params: { trees: 12, validationFraction: 0 } });
    ModelRef.parse(result.model);
    // Liveness heartbeats repeat the latest progress while a tree takes long: count distinct steps.
    const done = beats.filter((b) => b !== undefined).map((b) => b.done);
    assert.deepEqual(done.filter((d, i) => d !== done[i - 1]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.equal(beats[0]!.unit, 'trees');
    const card = ModelCard.parse(JSON.parse((await store.get(result.card.sha256)).toString()));
    assert.equal(card.model.sha256, result.model.sha256);
    assert.equal(card.datasets.train.sha256, train.sha256);
    assert.equal(card.seed, 1);
    assert.equal(card.parameters.learningRate, 0.1);
    assert.equal(card.trainer.name, 'gbdt');
  });

  test('training twice with the same inputs stores the same model', async () => {
    const input = { dataset: train, label: 'churned', trainer: 'logreg' as const, params: { maxIterations: 20 } };
    const a = await run(new MockActivityEnvironment(), activities.train, input);
    const b = await run(new MockActivityEnvironment(), activities.train, input);
    assert.equal(a.model.sha256, b.model.sha256);
  });

  test('a bad trainer parameter is a non-retryable BadInput failure naming it', async () => {
    await assert.rejects(
      run(new MockActivityEnvironment(), activities.train, { dataset: train, label: 'churned', trainer: 'gbdt', params: { maxDepth: 0 } }),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'PlumbBadInput');
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, /^gbdt parameters: params\.maxDepth: /);
        return true;
      },
    );
  });

  test('evaluate passes a good candidate, compares it with the champion and stores the report', async () => {
    const env = new MockActivityEnvironment();
    const candidate = await run(env, activities.train, { dataset: train, label: 'churned', trainer: 'gbdt', params: { trees: 40 } });
    const champion = await run(env, activities.train, { dataset: train, label: 'churned', trainer: 'gbdt', params: { trees: 1, maxDepth: 1 } });
    const result = await run(env, activities.evaluate, { model: candidate.model, dataset: testSet, gate: { rocAuc: 0.6, logLoss: 0.9 }, champion: champion.model });
    assert.equal(result.passed, true);
    assert.deepEqual(result.reasons.map((r) => [r.check, r.passed]), [
      ['gate.rocAuc', true],
      ['gate.logLoss', true],
      ['champion.rocAuc', true],
    ]);
    assert.equal(result.metrics.rows, 800);
    assert.ok(result.champion && result.champion.metrics.rocAuc < result.metrics.rocAuc);
    const report = JSON.parse((await store.get(result.report.sha256)).toString()) as { passed: boolean };
    assert.equal(report.passed, true);
  });

  test('evaluate fails the gate with a reason when the candidate is worse than the champion', async () => {
    const env = new MockActivityEnvironment();
    const weak = await run(env, activities.train, { dataset: train, label: 'churned', trainer: 'gbdt', params: { trees: 1, maxDepth: 1 } });
    const strong = await run(env, activities.train, { dataset: train, label: 'churned', trainer: 'gbdt', params: { trees: 40 } });
    const result = await run(env, activities.evaluate, { model: weak.model, dataset: testSet, champion: strong.model });
    assert.equal(result.passed, false);
    assert.equal(result.reasons.length, 1);
    assert.match(result.reasons[0]!.message, /^candidate rocAuc 0\.\d+ falls short of 0\.\d+ \(champion 0\.\d+\)$/);
  });

  test('the gate uses a minimum for scores and a maximum for losses', () => {
    const metrics = classificationMetrics([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.4]);
    const checks = judge(metrics, { rocAuc: 0.99, brier: 0.01 });
    assert.deepEqual(checks, [
      { check: 'gate.rocAuc', passed: true, message: 'rocAuc 1 ≥ minimum 0.99' },
      { check: 'gate.brier', passed: false, message: 'brier 0.0925 > maximum 0.01' },
    ]);
  });
});
