import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ExternalTrainInput, runExternalTrainer } from '../../activities/trainers/external-trainer.js';
import { loadClassifier } from '../../activities/onnx-classifier.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { readDatasetColumns } from '../../lib/dataset-columns.js';
import { PlumbError } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import { ModelCard } from '../../lib/model-card.js';
import type { Progress } from '../../lib/progress.js';
import { artifactUri, type DatasetRef } from '../../lib/refs.js';
import { writeChurnParquet } from '../fixtures/churn-parquet.js';

const script = fileURLToPath(new URL('../fixtures/external-trainer.ts', import.meta.url));
const command = [process.execPath, '--import', 'tsx', script];

describe('external trainer', () => {
  let dir: string;
  let store: LocalArtifactStore;
  let train: DatasetRef;
  const lines: Record<string, unknown>[] = [];
  const progress: Progress[] = [];
  const ctx = () => ({
    log: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }),
    progress: (p: Progress) => progress.push(p),
    signal: undefined,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-external-'));
    store = new LocalArtifactStore(join(dir, 'store'));
    const path = join(dir, 'train.parquet');
    await writeChurnParquet(path, 500, 3);
    const stored = await store.putFile(path);
    const data = await readDatasetColumns(path);
    train = {
      kind: 'dataset',
      uri: artifactUri(stored.sha256),
      sha256: stored.sha256,
      rows: data.rows,
      columns: data.schema,
      source: 'test churn generator',
      createdAt: new Date().toISOString(),
    };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const input = (extra: Record<string, unknown>) =>
    ExternalTrainInput.parse({ command, trainerName: 'node-fixture', train, label: 'churned', features: ['tenure_months', 'contract', 'monthly_charges'], ...extra });

  async function failure(extra: Record<string, unknown>): Promise<PlumbError> {
    try {
      await runExternalTrainer(input(extra), { store }, ctx());
    } catch (err) {
      assert.ok(err instanceof PlumbError);
      return err;
    }
    assert.fail('the external trainer should have failed');
  }

  test('stores the model and a card with the trainer metrics, and logs the trainer output', async () => {
    const result = await runExternalTrainer(input({ heartbeatSeconds: 0.05 }), { store }, ctx());
    const model = await loadClassifier(await store.localPath(result.model.sha256));
    assert.deepEqual(model.features, [
      { name: 'tenure_months', type: 'numeric' },
      { name: 'contract', type: 'categorical' },
      { name: 'monthly_charges', type: 'numeric' },
    ]);
    const card = ModelCard.parse(JSON.parse((await store.get(result.card.sha256)).toString()));
    assert.equal(card.trainer.name, 'node-fixture');
    assert.deepEqual(Object.keys(card.metrics), ['trainingLoss']);
    assert.ok(lines.some((l) => l.stream === 'stdout' && String(l.line).startsWith('training on ')));
    assert.ok(progress.some((p) => p.stage === 'train (external)' && p.unit === 'seconds'));
  });

  test('a non-zero exit fails with the exit code and the last 20 lines of stderr', async () => {
    const err = await failure({ params: { mode: 'fail' } });
    assert.equal(err.kind, 'TrainerFailed');
    assert.match(err.message, /exited with code 3; stderr \(last lines\):\nstack line 12\n/);
    assert.match(err.message, /ValueError: could not converge$/);
    assert.doesNotMatch(err.message, /stack line 11\n/);
  });

  test('a trainer running past its timeout is killed and reported', async () => {
    const err = await failure({ params: { mode: 'sleep' }, timeoutSeconds: 1 });
    assert.equal(err.kind, 'TrainerFailed');
    assert.match(err.message, /timed out after 1s and was killed/);
  });

  test('a model whose inputs differ from the feature schema is rejected', async () => {
    const err = await failure({ params: { mode: 'wrong-inputs' } });
    assert.match(err.message, /unusable model.onnx: model inputs \(renamed:numeric, contract:categorical, monthly_charges:numeric\) do not match the feature schema/);
  });

  test('a missing metrics.json is rejected', async () => {
    const err = await failure({ params: { mode: 'no-metrics' } });
    assert.match(err.message, /metrics.json is missing or not JSON/);
  });

  test('a command that cannot start is reported', async () => {
    const err = await failure({ command: [join(dir, 'no-such-trainer')] });
    assert.match(err.message, /cannot start external trainer/);
  });
});
