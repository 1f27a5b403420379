import { z } from 'zod';
import { badInput } from '../errors.js';

/**
 * Binary-classification metrics, pure and exact. `labels` are 0/1, `scores` the predicted
 * probability of class 1. Every function rejects empty input and mismatched lengths; the
 * ranking metrics (ROC AUC, PR AUC) also reject a test set holding only one class, because they
 * are undefined there and a silent 0.5 or NaN would pass a quality gate by accident.
 *
 *   const m = classificationMetrics([0, 1, 1], [0.2, 0.9, 0.4]); // m.rocAuc === 1
 */
export type Labels = ArrayLike<number>;
export type Scores = ArrayLike<number>;

export const ConfusionMatrix = z.object({ tp: z.number(), fp: z.number(), tn: z.number(), fn: z.number() });
export type ConfusionMatrix = z.infer<typeof ConfusionMatrix>;

export const CalibrationBin = z.object({
  lower: z.number(),
  upper: z.number(),
  count: z.number(),
  meanPredicted: z.number().nullable(),
  fractionPositive: z.number().nullable(),
});
export type CalibrationBin = z.infer<typeof CalibrationBin>;

export const ClassificationMetrics = z.object({
  rows: z.number().int(),
  positives: z.number().int(),
  threshold: z.number(),
  accuracy: z.number(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  rocAuc: z.number(),
  prAuc: z.number(),
  logLoss: z.number(),
  brier: z.number(),
  confusion: ConfusionMatrix,
  calibration: z.array(CalibrationBin),
});
export type ClassificationMetrics = z.infer<typeof ClassificationMetrics>;

function checkInputs(labels: Labels, scores?: Scores): number {
  const n = labels.length;
  if (n === 0) throw badInput('cannot compute metrics on an empty set: no rows');
  if (scores && scores.length !== n) throw badInput(`labels and scores differ in length: ${n} labels, ${scores.length} scores`);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw badInput(`label at row ${i} is ${y}: expected 0 or 1`);
    if (scores) {
      const s = scores[i]!;
      if (!(s >= 0 && s <= 1)) throw badInput(`score at row ${i} is ${s}: expected a probability in [0, 1]`);
    }
  }
  return n;
}

function countPositives(labels: Labels): number {
  let p = 0;
  for (let i = 0; i < labels.length; i++) p += labels[i]!;
  return p;
}

function requireBothClasses(labels: Labels, metric: string): number {
  const p = countPositives(labels);
  if (p === 0 || p === labels.length) {
    throw badInput(`${metric} is undefined: the set holds only class ${p === 0 ? 0 : 1} (${labels.length} rows); it needs both classes`);
  }
  return p;
}

export function confusionMatrix(labels: Labels, scores: Scores, threshold = 0.5): ConfusionMatrix {
  const n = checkInputs(labels, scores);
  const m = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < n; i++) {
    const predicted = scores[i]! > threshold;
    if (labels[i] === 1) predicted ? m.tp++ : m.fn++;
    else predicted ? m.fp++ : m.tn++;
  }
  return m;
}

export const accuracy = (m: ConfusionMatrix) => (m.tp + m.tn) / (m.tp + m.tn + m.fp + m.fn);
/** 0 when nothing is predicted positive (scikit-learn's zero_division=0). */
export const precision = (m: ConfusionMatrix) => (m.tp + m.fp === 0 ? 0 : m.tp / (m.tp + m.fp));
export const recall = (m: ConfusionMatrix) => (m.tp + m.fn === 0 ? 0 : m.tp / (m.tp + m.fn));
export function f1(m: ConfusionMatrix): number {
  const denominator = 2 * m.tp + m.fp + m.fn;
  return denominator === 0 ? 0 : (2 * m.tp) / denominator;
}

/** Indices sorted by score, descending; ties keep row order so results do not depend on the sort. */
function byScoreDescending(scores: Scores): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/** Area under the ROC curve; tied scores count one half (the Mann–Whitney statistic with mid-ranks). */
export function rocAuc(labels: Labels, scores: Scores): number {
  const n = checkInputs(labels, scores);
  const positives = requireBothClasses(labels, 'ROC AUC');
  const negatives = n - positives;
  const order = byScoreDescending(scores);
  let area = 0;
  let negativesAbove = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    let tiedPositives = 0;
    let tiedNegatives = 0;
    const s = scores[order[start]!]!;
    while (end < n && scores[order[end]!] === s) {
      if (labels[order[end]!] === 1) tiedPositives++;
      else tiedNegatives++;
      end++;
    }
    area += tiedPositives * (negatives - negativesAbove - tiedNegatives) + 0.5 * tiedPositives * tiedNegatives;
    negativesAbove += tiedNegatives;
    start = end;
  }
  return area / (positives * negatives);
}

/** Average precision (area under the precision–recall curve, step-wise, ties as one threshold). */
export function prAuc(labels: Labels, scores: Scores): number {
  const n = checkInputs(labels, scores);
  const positives = requireBothClasses(labels, 'PR AUC');
  const order = byScoreDescending(scores);
  let tp = 0;
  let seen = 0;
  let area = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    let tiedPositives = 0;
    const s = scores[order[start]!]!;
    while (end < n && scores[order[end]!] === s) {
      tiedPositives += labels[order[end]!]!;
      end++;
    }
    tp += tiedPositives;
    seen = end;
    area += (tiedPositives / positives) * (tp / seen);
    start = end;
  }
  return area;
}

/** Mean negative log-likelihood; probabilities are clipped to [1e-15, 1 − 1e-15] as scikit-learn does. */
export function logLoss(labels: Labels, scores: Scores): number {
  const n = checkInputs(labels, scores);
  const eps = 1e-15;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(Math.max(scores[i]!, eps), 1 - eps);
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / n;
}

export function brierScore(labels: Labels, scores: Scores): number {
  const n = checkInputs(labels, scores);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (scores[i]! - labels[i]!) ** 2;
  return sum / n;
}

/** Equal-width probability bins; a score of exactly 1 falls in the last bin. */
export function calibrationBins(labels: Labels, scores: Scores, bins = 10): CalibrationBin[] {
  const n = checkInputs(labels, scores);
  if (!Number.isInteger(bins) || bins < 1) throw badInput(`calibration bins must be a positive integer, got ${bins}`);
  const count = new Float64Array(bins);
  const sumScore = new Float64Array(bins);
  const sumLabel = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const b = Math.min(Math.floor(scores[i]! * bins), bins - 1);
    count[b]!++;
    sumScore[b]! += scores[i]!;
    sumLabel[b]! += labels[i]!;
  }
  return Array.from(count, (c, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    count: c,
    meanPredicted: c === 0 ? null : sumScore[b]! / c,
    fractionPositive: c === 0 ? null : sumLabel[b]! / c,
  }));
}

export function classificationMetrics(labels: Labels, scores: Scores, threshold = 0.5): ClassificationMetrics {
  const confusion = confusionMatrix(labels, scores, threshold);
  return {
    rows: labels.length,
    positives: countPositives(labels),
    threshold,
    accuracy: accuracy(confusion),
    precision: precision(confusion),
    recall: recall(confusion),
    f1: f1(confusion),
    rocAuc: rocAuc(labels, scores),
    prAuc: prAuc(labels, scores),
    logLoss: logLoss(labels, scores),
    brier: brierScore(labels, scores),
    confusion,
    calibration: calibrationBins(labels, scores),
  };
}
