import * as ort from 'onnxruntime-node';
import type { ColumnValues } from '../lib/dataset-columns.js';
import { badInput, messageOf } from '../lib/errors.js';
import { MODEL_OUTPUTS, type Feature } from '../lib/refs.js';

/**
 * A plumb classifier loaded in onnxruntime-node, with the features its inputs declare. Loading
 * checks the model convention (lib/refs.ts) so evaluation and external-trainer validation fail
 * early with a message that names the offending input or output.
 */
export interface OnnxClassifier {
  session: ort.InferenceSession;
  features: Feature[];
}

export async function loadClassifier(modelPath: string): Promise<OnnxClassifier> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath);
  } catch (err) {
    throw badInput(`${modelPath} is not a model onnxruntime can load: ${messageOf(err)}`);
  }
  const features = session.inputMetadata.map((input): Feature => {
    if (!input.isTensor) throw badInput(`model input "${input.name}" is not a tensor`);
    if (input.type === 'float32') return { name: input.name, type: 'numeric' };
    if (input.type === 'string') return { name: input.name, type: 'categorical' };
    throw badInput(`model input "${input.name}" has type ${input.type}: plumb models take float32 (numeric) or string (categorical) [N,1] inputs`);
  });
  for (const output of [MODEL_OUTPUTS.label, MODEL_OUTPUTS.probabilities]) {
    if (!session.outputNames.includes(output)) {
      throw badInput(`model has no "${output}" output (outputs: ${session.outputNames.join(', ')}): plumb classifiers output label and probabilities`);
    }
  }
  return { session, features };
}

/** Throws BadInput unless the model's inputs are exactly the expected features, in order and type. */
export function checkFeatures(actual: Feature[], expected: Feature[]): void {
  const show = (fs: Feature[]) => fs.map((f) => `${f.name}:${f.type}`).join(', ');
  const same = actual.length === expected.length && actual.every((f, i) => f.name === expected[i]!.name && f.type === expected[i]!.type);
  if (!same) throw badInput(`model inputs (${show(actual)}) do not match the feature schema (${show(expected)})`);
}

/**
 * Runs the model over whole columns in batches and returns the probability of class 1 per row.
 * Numeric columns go in as float32 (null → NaN), categorical ones as strings (null → "").
 */
export async function predictProbabilities(
  model: OnnxClassifier,
  columns: Map<string, ColumnValues>,
  rows: number,
  options: { batchSize?: number; onBatch?: (done: number) => void } = {},
): Promise<Float64Array> {
  const batchSize = options.batchSize ?? 8192;
  const out = new Float64Array(rows);
  for (const f of model.features) {
    const column = columns.get(f.name);
    if (!column) throw badInput(`the dataset has no column "${f.name}" for model input "${f.name}"`);
    if (f.type === 'numeric' && !(column instanceof Float64Array)) throw badInput(`column "${f.name}" is text but the model expects numbers`);
    if (f.type === 'categorical' && column instanceof Float64Array) throw badInput(`column "${f.name}" is numeric but the model expects strings`);
  }
  for (let start = 0; start < rows; start += batchSize) {
    const end = Math.min(rows, start + batchSize);
    const n = end - start;
    const feeds: Record<string, ort.Tensor> = {};
    for (const f of model.features) {
      const column = columns.get(f.name)!;
      feeds[f.name] =
        column instanceof Float64Array
          ? new ort.Tensor('float32', Float32Array.from(column.subarray(start, end)), [n, 1])
          : new ort.Tensor('string', column.slice(start, end).map((v) => v ?? ''), [n, 1]);
    }
    const result = await model.session.run(feeds, [MODEL_OUTPUTS.probabilities]);
    const probabilities = result[MODEL_OUTPUTS.probabilities]!.data as Float32Array;
    for (let i = 0; i < n; i++) out[start + i] = probabilities[2 * i + 1]!;
    options.onBatch?.(end);
  }
  return out;
}
