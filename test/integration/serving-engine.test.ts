import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { InferenceEngine } from '../../serving/engine.js';
import { warmupFeeds } from '../../serving/served-models.js';
import { CHURN_FEATURES, logisticModel, logisticProbability, writeModel } from '../fixtures/onnx-models.js';
import { silentLog } from './serving-harness.js';

const feeds = () => ({
  tenure: { type: 'float32' as const, data: Float32Array.of(10), dims: [1, 1] },
  monthly_charges: { type: 'float32' as const, data: Float32Array.of(70), dims: [1, 1] },
  contract: { type: 'string' as const, data: ['one-year'], dims: [1, 1] },
});

test('replaces an inference thread that dies and reloads its versions on the new one', async () => {
  const engine = new InferenceEngine({ threads: 1, intraOpThreads: 1, maxBatchRows: 16, maxQueueDelayMs: 0, maxQueueLength: 16, log: silentLog });
  await engine.start();
  try {
    const model = await writeModel(logisticModel());
    await engine.load('m', model.path, warmupFeeds(CHURN_FEATURES));
    const threads = (engine as unknown as { threads: { worker: Worker }[] }).threads;
    const first = threads[0]!.worker;
    await first.terminate();
    assert.notEqual(threads[0]!.worker, first);
    const out = await engine.infer('m', feeds(), 1, ['probabilities']);
    const p1 = (out.probabilities!.data as Float32Array)[1]!;
    assert.equal(Math.round(p1 * 1e5), Math.round(logisticProbability({ tenure: 10, monthly_charges: 70, contract: 'one-year' }) * 1e5));
  } finally {
    await engine.close();
  }
});
