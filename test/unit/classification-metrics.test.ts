import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  brierScore,
  calibrationBins,
  classificationMetrics,
  confusionMatrix,
  logLoss,
  prAuc,
  rocAuc,
} from '../../lib/metrics/classification.js';
import { PlumbError } from '../../lib/errors.js';

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);

describe('classification metrics', () => {
  const labels = [1, 0, 1, 1, 0, 0];
  const scores = [0.9, 0.8, 0.7, 0.3, 0.2, 0.6];

  test('confusion matrix counts a score above the threshold as positive', () => {
    assert.deepEqual(confusionMatrix(labels, scores, 0.5), { tp: 2, fp: 2, tn: 1, fn: 1 });
    assert.deepEqual(confusionMatrix([1, 0], [0.5, 0.5], 0.5), { tp: 0, fp: 0, tn: 1, fn: 1 });
  });

  test('accuracy, precision, recall and F1 from the confusion matrix', () => {
    const m = classificationMetrics(labels, scores);
    close(m.accuracy, 3 / 6);
    close(m.precision, 2 / 4);
    close(m.recall, 2 / 3);
    close(m.f1, (2 * 2) / (2 * 2 + 2 + 1));
  });

  test('ROC AUC is the share of positive–negative pairs ranked correctly', () => {
    // pairs (pos, neg): 0.9 beats all 3; 0.7 beats 0.6 and 0.2; 0.3 beats 0.2 → 6 of 9
    close(rocAuc(labels, scores), 6 / 9);
  });

  test('ROC AUC counts tied scores as half a correct pair', () => {
    // pairs: (0.5 vs 0.5) ½, (0.5 vs 0.1) 1, (0.9 vs 0.5) 1, (0.9 vs 0.1) 1 → 3.5 / 4
    close(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1]), 3.5 / 4);
    close(rocAuc([1, 0, 1, 0], [0.4, 0.4, 0.4, 0.4]), 0.5);
  });

  test('PR AUC is the average precision at each positive, tied scores forming one step', () => {
    // ranked: 0.9(1) 0.8(0) 0.7(1) 0.6(0) 0.3(1) 0.2(0): precision at each positive 1, 2/3, 3/5
    close(prAuc(labels, scores), (1 + 2 / 3 + 3 / 5) / 3);
    // a tie of one positive and one negative at the top: one step with precision 1/2, then 2/3
    close(prAuc([1, 0, 1], [0.9, 0.9, 0.5]), 0.5 * 0.5 + 0.5 * (2 / 3));
  });

  test('log loss and Brier score match hand-computed values', () => {
    close(logLoss([1, 0], [0.8, 0.4]), -(Math.log(0.8) + Math.log(0.6)) / 2);
    close(brierScore([1, 0], [0.8, 0.4]), (0.04 + 0.16) / 2);
    assert.ok(Number.isFinite(logLoss([1, 0], [0, 1])));
  });

  test('calibration bins hold the count, mean score and positive rate of each probability band', () => {
    const bins = calibrationBins([1, 0, 1, 1], [0.05, 0.15, 0.95, 1], 2);
    assert.deepEqual(bins, [
      { lower: 0, upper: 0.5, count: 2, meanPredicted: 0.1, fractionPositive: 0.5 },
      { lower: 0.5, upper: 1, count: 2, meanPredicted: 0.975, fractionPositive: 1 },
    ]);
    assert.equal(calibrationBins([1], [0.9], 4)[0]!.meanPredicted, null);
  });

  test('a single-class test set is rejected with an error naming the class', () => {
    assert.throws(() => rocAuc([1, 1, 1], [0.2, 0.5, 0.9]), (err: unknown) => {
      assert.ok(err instanceof PlumbError);
      assert.equal(err.kind, 'BadInput');
      assert.match(err.message, /ROC AUC is undefined: the set holds only class 1 \(3 rows\)/);
      return true;
    });
    assert.throws(() => classificationMetrics([0, 0], [0.1, 0.2]), /only class 0/);
    assert.throws(() => prAuc([0, 0], [0.1, 0.2]), /PR AUC is undefined/);
  });

  test('empty input is rejected with a clear error', () => {
    assert.throws(() => classificationMetrics([], []), /cannot compute metrics on an empty set/);
    assert.throws(() => logLoss([], []), /empty set/);
  });

  test('labels other than 0/1, scores outside [0, 1] and length mismatches are rejected', () => {
    assert.throws(() => rocAuc([1, 2], [0.1, 0.2]), /label at row 1 is 2: expected 0 or 1/);
    assert.throws(() => rocAuc([1, 0], [0.1, NaN]), /score at row 1 is NaN/);
    assert.throws(() => rocAuc([1, 0], [0.1]), /2 labels, 1 scores/);
  });
});
