import { z } from 'zod';
import type { DatasetColumns } from '../../lib/dataset-columns.js';
import { badInput } from '../../lib/errors.js';
import type { ProgressSink } from '../../lib/progress.js';
import type { Feature } from '../../lib/refs.js';
import { GbdtParams, trainGbdt } from './gbdt.js';
import { LogisticRegressionParams, trainLogisticRegression } from './logistic-regression.js';
import { exportOnnx } from './onnx-export.js';
import { prepareTrainingData } from './training-data.js';

export const BuiltinTrainerName = z.enum(['gbdt', 'logreg']);
export type BuiltinTrainerName = z.infer<typeof BuiltinTrainerName>;

/** Bumped whenever a trainer's output for the same inputs changes. */
export const BUILTIN_TRAINER_VERSION = '1.0.0';

export interface BuiltinTrainingOptions {
  trainer: BuiltinTrainerName;
  label: string;
  /** Feature columns, in model-input order; default: every column but the label (dates excluded). */
  features?: string[] | undefined;
  params: Record<string, unknown>;
}

export interface BuiltinTrainingResult {
  onnx: Uint8Array;
  features: Feature[];
  /** Every parameter, defaults filled in. */
  parameters: Record<string, unknown>;
  /** null for deterministic solvers that draw no random numbers. */
  seed: number | null;
  metrics: Record<string, number>;
  trainingSeconds: number;
}

function parseParams<S extends z.ZodType>(schema: S, params: Record<string, unknown>, trainer: string): z.output<S> {
  const parsed = schema.safeParse(params);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `params.${k}`).join(', ')}`
        : `params.${issue.path.join('.')}: ${issue.message}`,
    );
    throw badInput(`${trainer} parameters: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/**
 * Trains a built-in model on in-memory columns and exports it to ONNX. Plain function: the train
 * activity and `plumb train` both call it, each with its own progress sink.
 */
export async function trainBuiltin(
  data: DatasetColumns,
  options: BuiltinTrainingOptions,
  progress: ProgressSink,
  signal?: AbortSignal,
): Promise<BuiltinTrainingResult> {
  const training = prepareTrainingData(data, options.label, options.features);
  const started = performance.now();
  const producer = { producerVersion: `${options.trainer}@${BUILTIN_TRAINER_VERSION}` };
  if (options.trainer === 'gbdt') {
    const params = parseParams(GbdtParams, options.params, 'gbdt');
    const result = await trainGbdt(training, params, {
      signal,
      onTree: (p) =>
        progress({
          stage: 'train',
          done: p.trees,
          total: p.total,
          unit: 'trees',
          ...(p.validationLogLoss === undefined ? {} : { message: `validation log loss ${p.validationLogLoss.toFixed(5)}` }),
        }),
    });
    const trainingSeconds = (performance.now() - started) / 1000;
    return {
      onnx: exportOnnx(result.spec, producer),
      features: training.features,
      parameters: params,
      seed: params.seed,
      metrics: {
        trees: result.spec.trees.length,
        trainingRows: training.rows,
        ...(result.validationLogLoss === undefined ? {} : { validationLogLoss: result.validationLogLoss }),
      },
      trainingSeconds,
    };
  }
  const params = parseParams(LogisticRegressionParams, options.params, 'logreg');
  const result = await trainLogisticRegression(training, params, {
    signal,
    onIteration: (p) => progress({ stage: 'train', done: p.iterations, total: p.total, unit: 'iterations', message: `loss ${p.loss.toFixed(6)}` }),
  });
  const trainingSeconds = (performance.now() - started) / 1000;
  return {
    onnx: exportOnnx(result.spec, producer),
    features: training.features,
    parameters: params,
    seed: null,
    metrics: { iterations: result.iterations, trainingLoss: result.loss, trainingRows: training.rows },
    trainingSeconds,
  };
}
