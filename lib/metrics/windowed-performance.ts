import { z } from 'zod';
import { ParquetSource } from '../drift-contracts.js';

/**
 * Live model performance once delayed labels arrive: the prediction log joined with ground truth
 * and cut into time windows. The maths runs in DuckDB (activities/monitoring/performance.ts); this
 * file holds the contracts and the threshold check.
 */
export const PerformanceThresholds = z.strictObject({
  /** Minimums, as for evaluation gates. */
  accuracy: z.number().min(0).max(1).optional(),
  rocAuc: z.number().min(0).max(1).optional(),
  /** Maximum expected calibration error. */
  calibrationError: z.number().min(0).max(1).optional(),
  /** A window with fewer labelled predictions than this is reported but never judged. */
  minLabelled: z.number().int().positive().default(50),
});
export type PerformanceThresholds = z.infer<typeof PerformanceThresholds>;

export const PerformanceInput = z.strictObject({
  /** The prediction log (Parquet partitions). */
  predictions: ParquetSource,
  /** Ground truth: Parquet or CSV files (by extension), one row per key. */
  groundTruth: ParquetSource,
  /** Join key: request id, or an entity id when labels arrive per entity. */
  key: z.strictObject({ predictions: z.string().min(1), groundTruth: z.string().min(1) }).prefault({ predictions: 'request_id', groundTruth: 'request_id' }),
  /** The true label in the ground truth (0/1, or a boolean). */
  labelColumn: z.string().min(1).default('label'),
  /** Predicted label and positive-class probability in the log. */
  predictedLabelColumn: z.string().min(1).default('label'),
  probabilityColumn: z.string().min(1).default('probability'),
  timeColumn: z.string().min(1).default('time'),
  windowMinutes: z.number().int().positive().default(60),
  calibrationBins: z.number().int().min(2).max(100).default(10),
  thresholds: PerformanceThresholds.prefault({}),
});
export type PerformanceInput = z.infer<typeof PerformanceInput>;

export const CalibrationBin = z.object({
  /** Probability range [lower, upper). */
  lower: z.number(),
  upper: z.number(),
  count: z.number().int(),
  meanPredicted: z.number(),
  observedRate: z.number(),
});

export const PerformanceWindow = z.object({
  start: z.iso.datetime(),
  labelled: z.number().int(),
  positives: z.number().int(),
  accuracy: z.number(),
  /** Null when the window holds only one class. */
  rocAuc: z.number().nullable(),
  brier: z.number(),
  /** Expected calibration error: Σ (n_b / n) · |mean predicted − observed rate| over equal-width bins. */
  calibrationError: z.number(),
  calibration: z.array(CalibrationBin),
});
export type PerformanceWindow = z.infer<typeof PerformanceWindow>;

export const PerformanceBreach = z.object({
  window: z.iso.datetime(),
  metric: z.enum(['accuracy', 'rocAuc', 'calibrationError']),
  value: z.number(),
  threshold: z.number(),
});
export type PerformanceBreach = z.infer<typeof PerformanceBreach>;

export const PerformanceResult = z.object({
  windows: z.array(PerformanceWindow),
  /** Predictions with no ground truth yet. */
  unlabelled: z.number().int(),
  /** Breaches in the latest judged window (the most recent one with at least `minLabelled` labels). */
  breaches: z.array(PerformanceBreach),
});
export type PerformanceResult = z.infer<typeof PerformanceResult>;

/**
 * Threshold check on the latest window that has enough labels: accuracy and ROC AUC below their
 * minimums, calibration error above its maximum.
 */
export function performanceBreaches(windows: readonly PerformanceWindow[], t: PerformanceThresholds): PerformanceBreach[] {
  const judged = [...windows].reverse().find((w) => w.labelled >= t.minLabelled);
  if (!judged) return [];
  const breaches: PerformanceBreach[] = [];
  if (t.accuracy !== undefined && judged.accuracy < t.accuracy) {
    breaches.push({ window: judged.start, metric: 'accuracy', value: judged.accuracy, threshold: t.accuracy });
  }
  if (t.rocAuc !== undefined && judged.rocAuc !== null && judged.rocAuc < t.rocAuc) {
    breaches.push({ window: judged.start, metric: 'rocAuc', value: judged.rocAuc, threshold: t.rocAuc });
  }
  if (t.calibrationError !== undefined && judged.calibrationError > t.calibrationError) {
    breaches.push({ window: judged.start, metric: 'calibrationError', value: judged.calibrationError, threshold: t.calibrationError });
  }
  return breaches;
}
