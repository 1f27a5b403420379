import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchQueue } from '../../serving/batch-queue.js';
import { concatFeeds, splitOutputs } from '../../serving/tensors.js';

const item = (rows: number, enqueuedAt: number) => ({ rows, enqueuedAt });

test('holds a lone request until the queue delay has passed', () => {
  const q = new BatchQueue({ maxBatchRows: 8, maxDelayMs: 2, maxLength: 10 });
  q.push('a', item(1, 100));
  assert.equal(q.take(101), undefined);
  assert.equal(q.nextDeadline(), 102);
  assert.deepEqual(q.take(102), { key: 'a', items: [item(1, 100)] });
  assert.equal(q.depth, 0);
});

test('releases a batch as soon as it is full and merges up to the row limit', () => {
  const q = new BatchQueue({ maxBatchRows: 4, maxDelayMs: 50, maxLength: 10 });
  for (let i = 0; i < 5; i++) q.push('a', item(1, 100 + i));
  assert.deepEqual(q.take(105)?.items.map((i) => i.enqueuedAt), [100, 101, 102, 103]);
  assert.equal(q.take(105), undefined);
  assert.equal(q.depthOf('a'), 1);
});

test('runs a request larger than the batch limit alone instead of splitting it', () => {
  const q = new BatchQueue({ maxBatchRows: 4, maxDelayMs: 0, maxLength: 10 });
  q.push('a', item(10, 1));
  q.push('a', item(1, 2));
  assert.deepEqual(q.take(3)?.items, [item(10, 1)]);
  assert.deepEqual(q.take(3)?.items, [item(1, 2)]);
});

test('serves the version whose oldest request waited longest', () => {
  const q = new BatchQueue({ maxBatchRows: 4, maxDelayMs: 0, maxLength: 10 });
  q.push('b', item(1, 5));
  q.push('a', item(1, 3));
  assert.equal(q.take(10)?.key, 'a');
  assert.equal(q.take(10)?.key, 'b');
});

test('refuses requests beyond the queue length of a version', () => {
  const q = new BatchQueue({ maxBatchRows: 4, maxDelayMs: 0, maxLength: 2 });
  assert.deepEqual([q.push('a', item(1, 0)), q.push('a', item(1, 0)), q.push('a', item(1, 0)), q.push('b', item(1, 0))], [true, true, false, true]);
});

test('concatenates feeds by row and splits outputs back per request', () => {
  const a = { x: { type: 'float32' as const, data: Float32Array.of(1, 2), dims: [2, 1] }, c: { type: 'string' as const, data: ['p', 'q'], dims: [2, 1] } };
  const b = { x: { type: 'float32' as const, data: Float32Array.of(3), dims: [1, 1] }, c: { type: 'string' as const, data: ['r'], dims: [1, 1] } };
  const merged = concatFeeds([a, b]);
  assert.deepEqual(merged.x, { type: 'float32', data: Float32Array.of(1, 2, 3), dims: [3, 1] });
  assert.deepEqual(merged.c, { type: 'string', data: ['p', 'q', 'r'], dims: [3, 1] });
  const parts = splitOutputs({ probabilities: { type: 'float32', data: Float32Array.of(0.1, 0.9, 0.2, 0.8, 0.3, 0.7), dims: [3, 2] } }, [2, 1]);
  assert.deepEqual(parts.map((p) => [Array.from(p.probabilities!.data as Float32Array, (v) => Math.round(v * 10) / 10), p.probabilities!.dims]), [
    [[0.1, 0.9, 0.2, 0.8], [2, 2]],
    [[0.3, 0.7], [1, 2]],
  ]);
});
