import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HISTOGRAM_STRIDE, HistogramBuilder, sharedTrainingArrays } from '../../activities/trainers/gbdt-histograms.js';
import { seededRandom } from '../../activities/trainers/training-data.js';

describe('GBDT histograms', () => {
  const rows = 5000;
  const features = 4;
  const arrays = sharedTrainingArrays(rows, features);
  const random = seededRandom(3);
  for (let i = 0; i < rows * features; i++) arrays.bins[i] = Math.floor(random() * 256);
  for (let i = 0; i < rows; i++) {
    arrays.grad[i] = random() - 0.5;
    arrays.hess[i] = random() / 4;
    arrays.index[i] = rows - 1 - i;
  }

  test('the helper thread gives exactly the histogram this thread computes alone', async () => {
    const alone = await HistogramBuilder.create(arrays, features, 1);
    const helped = await HistogramBuilder.create(arrays, features, 2, 0);
    try {
      for (const [start, end] of [[0, rows], [100, 2345], [7, 8]] as const) {
        const a = new Float64Array(features * HISTOGRAM_STRIDE);
        const b = new Float64Array(features * HISTOGRAM_STRIDE);
        alone.build(a, start, end);
        helped.build(b, start, end);
        assert.deepEqual(b, a);
        let count = 0;
        for (let o = 2; o < HISTOGRAM_STRIDE; o += 3) count += a[o]!;
        assert.equal(count, end - start);
      }
      assert.equal(helped.threadsInUse, 2);
    } finally {
      await alone.close();
      await helped.close();
    }
  });
});
