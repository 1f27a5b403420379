// Step caching in a real run: an identical second run reuses every step, and a deleted cached
// object makes its step recompute while the steps before it stay cached.
import assert from 'node:assert/strict';
import { readdir, unlink } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import type { StepRecord } from '../../lib/pipeline-contracts.js';
import type { DatasetRef } from '../../lib/refs.js';
import { type InProcessWorker, type Suite, createSuite, startInProcessWorker } from './harness.js';

interface ChurnRun {
  steps: StepRecord[];
  result: { features: unknown; model: { sha256: string }; version: number };
}

const CACHEABLE = ['ingest', 'validate', 'profile', 'features', 'split', 'train baseline (logreg)', 'evaluate baseline', 'train gbdt', 'evaluate'];

describe('step caching', () => {
  let suite: Suite;
  let client: Client;
  let stack: InProcessWorker;

  before(async () => {
    suite = await createSuite('caching');
    stack = await startInProcessWorker(suite);
    client = stack.client;
  });
  after(async () => {
    await stack?.stop();
  });

  const runChurn = async (label: string): Promise<ChurnRun> =>
    (await client.workflow.execute('churn', {
      taskQueue: suite.config.taskQueues.control,
      workflowId: `churn-${label}-${suite.name}`,
      args: [{ params: { rows: 4000, trees: 20, promote: false, modelName: `churn-${suite.name}` }, autoApprove: true }],
    })) as ChurnRun;
  const statusOf = (run: ChurnRun) => Object.fromEntries(run.steps.filter((s) => CACHEABLE.includes(s.step)).map((s) => [s.step, s.status]));

  test('a second identical run reuses every step, and deleting one cached object recomputes only from that step', async () => {
    const first = await runChurn('first');
    assert.deepEqual(statusOf(first), Object.fromEntries(CACHEABLE.map((s) => [s, 'completed'])));

    const second = await runChurn('second');
    assert.deepEqual(statusOf(second), Object.fromEntries(CACHEABLE.map((s) => [s, 'cached'])));
    assert.equal(second.result.model.sha256, first.result.model.sha256);

    // Delete the dataset the features step produced: features recomputes; the steps before it
    // stay cached, and the steps after it find their inputs unchanged (same content, same hash).
    const store = new LocalArtifactStore(suite.config.artifacts.dir);
    const features = (await store.getNamed(await featuresCacheKey(store))) as Buffer;
    const output = JSON.parse(features.toString('utf8')).output as { dataset: DatasetRef };
    await unlink(await store.localPath(output.dataset.sha256));

    const third = await runChurn('third');
    const status = statusOf(third);
    assert.deepEqual(
      ['ingest', 'validate', 'profile'].map((s) => status[s]),
      ['cached', 'cached', 'cached'],
    );
    assert.equal(status.features, 'completed');
    assert.equal(third.result.model.sha256, first.result.model.sha256);
    assert.ok(await store.has(output.dataset.sha256), 'the recomputed features dataset is stored again');
  });
});

/** The one cache entry of the features step in this suite's store. */
async function featuresCacheKey(store: LocalArtifactStore): Promise<string> {
  const [entry] = await readdir(store.namedPath('step-cache/features'));
  assert.ok(entry, 'the features step left a cache entry');
  return `step-cache/features/${entry}`;
}
