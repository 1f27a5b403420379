import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prepareTrainingData } from '../../activities/trainers/training-data.js';
import type { DatasetColumns } from '../../lib/dataset-columns.js';

function dataset(columns: Record<string, Float64Array | (string | null)[]>, types: Record<string, 'double' | 'string' | 'date'>): DatasetColumns {
  const names = Object.keys(columns);
  return {
    rows: columns[names[0]!]!.length,
    schema: names.map((name) => ({ name, type: types[name]!, nullable: true })),
    columns: new Map(Object.entries(columns)),
  };
}

describe('training data checks', () => {
  const good = () =>
    dataset(
      { x: Float64Array.of(1.1, 2, NaN), city: ['a', null, 'b'], day: ['2024-01-01', '2024-01-02', null], y: Float64Array.of(0, 1, 1) },
      { x: 'double', city: 'string', day: 'date', y: 'double' },
    );

  test('uses every column but the label as a feature, dates excluded, and rounds numbers to float32', () => {
    const data = prepareTrainingData(good(), 'y');
    assert.deepEqual(data.features, [
      { name: 'x', type: 'numeric' },
      { name: 'city', type: 'categorical' },
    ]);
    assert.equal((data.columns[0] as Float64Array)[0], Math.fround(1.1));
  });

  test('rejects a missing label column, naming the columns there are', () => {
    assert.throws(() => prepareTrainingData(good(), 'churn'), /^BadInputError: label column "churn" is not in the dataset \(columns: x, city, day, y\)$/);
  });

  test('rejects a label with values other than 0 and 1', () => {
    const d = good();
    d.columns.set('y', Float64Array.of(0, 2, 1));
    assert.throws(() => prepareTrainingData(d, 'y'), /label column "y" has the value 2 at row 1: expected 0 or 1/);
    d.columns.set('y', Float64Array.of(0, NaN, 1));
    assert.throws(() => prepareTrainingData(d, 'y'), /label column "y" has a null at row 1/);
  });

  test('rejects a label holding one class only', () => {
    const d = good();
    d.columns.set('y', Float64Array.of(1, 1, 1));
    assert.throws(() => prepareTrainingData(d, 'y'), /label column "y" holds only class 1: a classifier needs both classes/);
  });

  test('rejects a date feature asked for by name and an unknown feature', () => {
    assert.throws(() => prepareTrainingData(good(), 'y', ['day']), /feature "day" has type date: derive a numeric feature from it first/);
    assert.throws(() => prepareTrainingData(good(), 'y', ['nope']), /feature "nope" is not in the dataset/);
  });

  test('rejects an empty dataset', () => {
    const d = dataset({ x: new Float64Array(0), y: new Float64Array(0) }, { x: 'double', y: 'double' });
    assert.throws(() => prepareTrainingData(d, 'y'), /the training dataset has no rows/);
  });
});
