import type { DatasetColumns } from '../../lib/dataset-columns.js';
import { badInput } from '../../lib/errors.js';
import type { Feature } from '../../lib/refs.js';

/**
 * The columns a built-in trainer learns from, checked and in feature order. Numeric values are
 * rounded to float32 here because the exported model receives float32 tensors: training on the
 * same values the model will see is what makes trainer and ONNX agree to the last split.
 * Categorical null and "" are both "missing" (ONNX string tensors have no null).
 */
export type FeatureColumn = Float64Array | (string | null)[];

export interface TrainingData {
  rows: number;
  features: Feature[];
  columns: FeatureColumn[];
  /** 0/1 per row. */
  labels: Float64Array;
}

export function selectFeatures(data: DatasetColumns, label: string, names?: string[]): Feature[] {
  const schema = new Map(data.schema.map((c) => [c.name, c]));
  if (!schema.has(label)) throw badInput(`label column "${label}" is not in the dataset (columns: ${[...schema.keys()].join(', ')})`);
  const chosen = names ?? data.schema.filter((c) => c.name !== label && c.type !== 'date' && c.type !== 'timestamp').map((c) => c.name);
  if (chosen.length === 0) throw badInput(`no feature columns: the dataset has only the label "${label}"`);
  return chosen.map((name) => {
    const column = schema.get(name);
    if (!column) throw badInput(`feature "${name}" is not in the dataset`);
    if (name === label) throw badInput(`feature "${name}" is the label column`);
    if (column.type === 'date' || column.type === 'timestamp') {
      throw badInput(`feature "${name}" has type ${column.type}: derive a numeric feature from it first`);
    }
    return { name, type: column.type === 'string' ? 'categorical' : 'numeric' };
  });
}

export function labelsOf(data: DatasetColumns, label: string): Float64Array {
  const column = data.columns.get(label);
  if (!(column instanceof Float64Array)) {
    throw badInput(`label column "${label}" must be boolean or 0/1 numbers`);
  }
  for (let i = 0; i < column.length; i++) {
    const y = column[i];
    if (y !== 0 && y !== 1) {
      throw badInput(`label column "${label}" has ${Number.isNaN(y) ? 'a null' : `the value ${y}`} at row ${i}: expected 0 or 1`);
    }
  }
  return column;
}

export function prepareTrainingData(data: DatasetColumns, label: string, featureNames?: string[]): TrainingData {
  if (data.rows === 0) throw badInput('the training dataset has no rows');
  const features = selectFeatures(data, label, featureNames);
  const labels = labelsOf(data, label);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]!;
  if (positives === 0 || positives === labels.length) {
    throw badInput(`label column "${label}" holds only class ${positives === 0 ? 0 : 1}: a classifier needs both classes`);
  }
  const columns = features.map((f) => featureColumn(data, f));
  return { rows: data.rows, features, columns, labels };
}

export function featureColumn(data: DatasetColumns, feature: Feature): FeatureColumn {
  const column = data.columns.get(feature.name);
  if (!column) throw badInput(`feature "${feature.name}" is not in the dataset`);
  if (feature.type === 'numeric') {
    if (!(column instanceof Float64Array)) throw badInput(`feature "${feature.name}" is numeric in the model but not in the dataset`);
    const rounded = new Float64Array(column.length);
    for (let i = 0; i < column.length; i++) rounded[i] = Math.fround(column[i]!);
    return rounded;
  }
  if (column instanceof Float64Array) throw badInput(`feature "${feature.name}" is categorical in the model but numeric in the dataset`);
  return column;
}

export const isMissingCategory = (v: string | null | undefined): boolean => v === null || v === undefined || v === '';

/** A small seeded generator (mulberry32): the same seed gives the same subsamples everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits row indices into a training and a validation part, reproducibly for a seed. */
export function splitRows(rows: number, validationFraction: number, seed: number): { train: Uint32Array; validation: Uint32Array } {
  const random = seededRandom(seed ^ 0x5eed);
  const isValidation = new Uint8Array(rows);
  let nValidation = 0;
  if (validationFraction > 0) {
    for (let i = 0; i < rows; i++) {
      if (random() < validationFraction) {
        isValidation[i] = 1;
        nValidation++;
      }
    }
  }
  const train = new Uint32Array(rows - nValidation);
  const validation = new Uint32Array(nValidation);
  for (let i = 0, t = 0, v = 0; i < rows; i++) {
    if (isValidation[i]) validation[v++] = i;
    else train[t++] = i;
  }
  return { train, validation };
}

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
