import { z } from 'zod';
import type { ArtifactStore } from '../lib/artifact-store.js';
import { readDatasetColumns, type DatasetColumns } from '../lib/dataset-columns.js';
import { classificationMetrics, type ClassificationMetrics } from '../lib/metrics/classification.js';
import { artifactUri, DatasetRef, ModelRef, type ArtifactRef, type Feature } from '../lib/refs.js';
import type { StepContext } from './define-activity.js';
import { checkFeatures, loadClassifier, predictProbabilities } from './onnx-classifier.js';
import { labelsOf } from './trainers/training-data.js';

const higherIsBetter = ['accuracy', 'precision', 'recall', 'f1', 'rocAuc', 'prAuc'] as const;
const lowerIsBetter = ['logLoss', 'brier'] as const;
export const GatedMetric = z.enum([...higherIsBetter, ...lowerIsBetter]);
export type GatedMetric = z.infer<typeof GatedMetric>;
const isLowerBetter = (m: GatedMetric) => (lowerIsBetter as readonly string[]).includes(m);

/** Quality thresholds: a minimum for accuracy…prAuc, a maximum for logLoss and brier. `{ rocAuc: 0.8 }` */
export const Gate = z.strictObject(Object.fromEntries(GatedMetric.options.map((m) => [m, z.number().optional()])) as Record<GatedMetric, z.ZodOptional<z.ZodNumber>>);
export type Gate = z.infer<typeof Gate>;

export const EvaluateInput = z.object({
  model: ModelRef,
  dataset: DatasetRef,
  /** Defaults to the model's label column. */
  label: z.string().min(1).optional(),
  threshold: z.number().min(0).max(1).default(0.5),
  gate: Gate.default({}),
  /** The current production model, scored on the same test set (champion/challenger). */
  champion: ModelRef.optional(),
  /** The candidate must reach champion + minImprovement on this metric (lower is better for logLoss, brier). */
  compareOn: GatedMetric.default('rocAuc'),
  minImprovement: z.number().default(0),
});
export type EvaluateInput = z.input<typeof EvaluateInput>;

export interface GateCheck {
  check: string;
  passed: boolean;
  message: string;
}

export interface EvaluationResult {
  passed: boolean;
  /** Every check made, passed or not, with a sentence saying why. */
  reasons: GateCheck[];
  metrics: ClassificationMetrics;
  champion?: { sha256: string; metrics: ClassificationMetrics };
  /** The full report (all of the above) as a JSON artifact. */
  report: ArtifactRef;
}

const fmt = (v: number) => Number(v.toFixed(6)).toString();

/** Applies the gate and the champion comparison to computed metrics. Pure. */
export function judge(
  metrics: ClassificationMetrics,
  gate: Gate,
  champion?: { metrics: ClassificationMetrics; compareOn: GatedMetric; minImprovement: number },
): GateCheck[] {
  const checks: GateCheck[] = [];
  for (const metric of GatedMetric.options) {
    const bound = gate[metric];
    if (bound === undefined) continue;
    const value = metrics[metric];
    const lower = isLowerBetter(metric);
    const passed = lower ? value <= bound : value >= bound;
    checks.push({
      check: `gate.${metric}`,
      passed,
      message: `${metric} ${fmt(value)} ${passed ? (lower ? '≤' : '≥') : lower ? '>' : '<'} ${lower ? 'maximum' : 'minimum'} ${fmt(bound)}`,
    });
  }
  if (champion) {
    const { compareOn: m, minImprovement } = champion;
    const lower = isLowerBetter(m);
    const value = metrics[m];
    const target = lower ? champion.metrics[m] - minImprovement : champion.metrics[m] + minImprovement;
    const passed = lower ? value <= target : value >= target;
    checks.push({
      check: `champion.${m}`,
      passed,
      message: `candidate ${m} ${fmt(value)} ${passed ? 'reaches' : 'falls short of'} ${fmt(target)} (champion ${fmt(champion.metrics[m])}${minImprovement === 0 ? '' : `, required improvement ${fmt(minImprovement)}`})`,
    });
  }
  return checks;
}

/** Scores a model file over the dataset's columns with onnxruntime and computes its metrics. */
export async function scoreModelFile(
  modelPath: string,
  columns: DatasetColumns,
  label: string,
  threshold: number,
  options: { expectedFeatures?: Feature[]; onBatch?: (done: number) => void } = {},
): Promise<ClassificationMetrics> {
  const classifier = await loadClassifier(modelPath);
  try {
    if (options.expectedFeatures) checkFeatures(classifier.features, options.expectedFeatures);
    const labels = labelsOf(columns, label);
    const scores = await predictProbabilities(classifier, columns.columns, columns.rows, options.onBatch ? { onBatch: options.onBatch } : {});
    return classificationMetrics(labels, scores, threshold);
  } finally {
    await classifier.session.release();
  }
}

/**
 * The `evaluate` step: metrics from running the ONNX model itself on the test set, the gate, and
 * the comparison with the champion on the same rows. A failed gate is a result (passed: false),
 * not an error; the workflow decides what to do with it.
 */
export async function evaluateStep(input: z.output<typeof EvaluateInput>, deps: { store: ArtifactStore }, ctx: Pick<StepContext, 'log' | 'progress'>): Promise<EvaluationResult> {
  const label = input.label ?? input.model.label;
  const names = new Set([label, ...input.model.features.map((f) => f.name), ...(input.champion?.features.map((f) => f.name) ?? [])]);
  const columns = await readDatasetColumns(await deps.store.localPath(input.dataset.sha256), [...names]);
  const score = async (model: ModelRef, stage: string) => {
    const path = await deps.store.localPath(model.sha256);
    return scoreModelFile(path, columns, label, input.threshold, {
      expectedFeatures: model.features,
      onBatch: (done) => ctx.progress({ stage, done, total: columns.rows, unit: 'rows' }),
    });
  };
  const metrics = await score(input.model, 'evaluate');
  const champion =
    input.champion && input.champion.sha256 !== input.model.sha256
      ? { sha256: input.champion.sha256, metrics: await score(input.champion, 'evaluate champion') }
      : undefined;
  const reasons = judge(metrics, input.gate, champion && { metrics: champion.metrics, compareOn: input.compareOn, minImprovement: input.minImprovement });
  const passed = reasons.every((r) => r.passed);
  const body = { kind: 'evaluation-report', model: input.model.sha256, dataset: input.dataset.sha256, label, passed, reasons, metrics, champion };
  const stored = await deps.store.put(JSON.stringify(body, null, 2));
  ctx.log.info('model evaluated', { model: input.model.sha256, passed, rocAuc: metrics.rocAuc, failed: reasons.filter((r) => !r.passed).map((r) => r.message) });
  return {
    passed,
    reasons,
    metrics,
    ...(champion ? { champion } : {}),
    report: { kind: 'artifact', uri: artifactUri(stored.sha256), sha256: stored.sha256, bytes: stored.bytes, mediaType: 'application/json' },
  };
}
