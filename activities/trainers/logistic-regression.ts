import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { z } from 'zod';
import type { LinearModelSpec } from './onnx-export.js';
import { isMissingCategory, type TrainingData } from './training-data.js';

/**
 * L2-regularised logistic regression fitted with L-BFGS. Numeric features are standardised for
 * the fit (NaN → the mean) and the scaling is folded back into the exported weights; categorical
 * features get one weight per category seen in training (one-hot, stored as a lookup table;
 * unseen or missing → 0). The objective is scikit-learn's with C = 1/l2:
 * Σ logloss + (l2 / 2)·‖w‖², divided by the row count.
 */
export const LogisticRegressionParams = z.strictObject({
  l2: z.number().min(0).default(1),
  maxIterations: z.number().int().min(1).max(10_000).default(200),
  /** Stop when the largest gradient component falls below this. */
  tolerance: z.number().gt(0).default(1e-6),
});
export type LogisticRegressionParams = z.infer<typeof LogisticRegressionParams>;

export interface LogisticRegressionResult {
  spec: LinearModelSpec;
  iterations: number;
  loss: number;
}

interface Design {
  rows: number;
  /** Standardised numeric columns, row-major. */
  dense: Float64Array;
  numericCount: number;
  /** Per categorical feature, the parameter index of each row's category (−1: none). */
  codes: Int32Array[];
  parameters: number;
}

function logistic(z: number): { loss1: number; loss0: number; p: number } {
  const p = 1 / (1 + Math.exp(-z));
  const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  return { loss1: softplus - z, loss0: softplus, p };
}

function evaluate(design: Design, labels: Float64Array, l2: number, theta: Float64Array, grad: Float64Array): number {
  const { rows, dense, numericCount: m, codes } = design;
  grad.fill(0);
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    let z = theta[0]!;
    const base = i * m;
    for (let j = 0; j < m; j++) z += theta[1 + j]! * dense[base + j]!;
    for (const c of codes) {
      const k = c[i]!;
      if (k >= 0) z += theta[k]!;
    }
    const { loss0, loss1, p } = logistic(z);
    const y = labels[i]!;
    loss += y === 1 ? loss1 : loss0;
    const r = p - y;
    grad[0]! += r;
    for (let j = 0; j < m; j++) grad[1 + j]! += r * dense[base + j]!;
    for (const c of codes) {
      const k = c[i]!;
      if (k >= 0) grad[k]! += r;
    }
  }
  let penalty = 0;
  for (let k = 1; k < theta.length; k++) {
    penalty += theta[k]! * theta[k]!;
    grad[k]! += l2 * theta[k]!;
  }
  for (let k = 0; k < grad.length; k++) grad[k]! /= rows;
  return (loss + 0.5 * l2 * penalty) / rows;
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

export interface LogisticRegressionOptions {
  onIteration?: (p: { iterations: number; total: number; loss: number }) => void;
  /** Checked between iterations, which also yield to the event loop. */
  signal?: AbortSignal | undefined;
}

export async function trainLogisticRegression(
  data: TrainingData,
  params: LogisticRegressionParams,
  options: LogisticRegressionOptions = {},
): Promise<LogisticRegressionResult> {
  const rows = data.rows;
  const numericIndex = data.features.flatMap((f, j) => (f.type === 'numeric' ? [j] : []));
  const m = numericIndex.length;
  const means = new Float64Array(m);
  const scales = new Float64Array(m);
  numericIndex.forEach((j, q) => {
    const values = data.columns[j] as Float64Array;
    let n = 0;
    let sum = 0;
    for (let i = 0; i < rows; i++) if (!Number.isNaN(values[i])) (sum += values[i]!), n++;
    const mean = n > 0 ? sum / n : 0;
    let sq = 0;
    for (let i = 0; i < rows; i++) if (!Number.isNaN(values[i])) sq += (values[i]! - mean) ** 2;
    const sd = n > 0 ? Math.sqrt(sq / n) : 0;
    means[q] = mean;
    scales[q] = sd > 0 ? sd : 1;
  });
  const dense = new Float64Array(rows * m);
  numericIndex.forEach((j, q) => {
    const values = data.columns[j] as Float64Array;
    for (let i = 0; i < rows; i++) {
      const x = values[i]!;
      dense[i * m + q] = Number.isNaN(x) ? 0 : (x - means[q]!) / scales[q]!;
    }
  });
  let next = 1 + m;
  const categorical = data.features.flatMap((f, j) => {
    if (f.type !== 'categorical') return [];
    const values = data.columns[j] as (string | null)[];
    const categories = [...new Set(values.filter((v): v is string => !isMissingCategory(v)))].sort();
    const first = next;
    next += categories.length;
    const position = new Map(categories.map((c, i) => [c, first + i]));
    const codes = Int32Array.from(values, (v) => (isMissingCategory(v) ? -1 : position.get(v!)!));
    return [{ feature: j, categories, first, codes }];
  });
  const design: Design = { rows, dense, numericCount: m, codes: categorical.map((c) => c.codes), parameters: next };

  const { theta, iterations, loss } = await lbfgs((t, g) => evaluate(design, data.labels, params.l2, t, g), design.parameters, params, options);

  let intercept = theta[0]!;
  const numericTerms = new Map<number, { weight: number; impute: number }>();
  numericIndex.forEach((j, q) => {
    const weight = theta[1 + q]! / scales[q]!;
    intercept -= weight * means[q]!;
    numericTerms.set(j, { weight, impute: means[q]! });
  });
  const spec: LinearModelSpec = {
    kind: 'linear',
    features: data.features,
    intercept,
    terms: data.features.map((f, j) => {
      const numeric = numericTerms.get(j);
      if (numeric) return { type: 'numeric', ...numeric };
      const c = categorical.find((x) => x.feature === j)!;
      return { type: 'categorical', categories: c.categories, values: c.categories.map((_, i) => theta[c.first + i]!), missing: 0 };
    }),
  };
  return { spec, iterations, loss };
}

/** Limited-memory BFGS (history 10) with a backtracking Armijo line search. */
async function lbfgs(
  f: (theta: Float64Array, grad: Float64Array) => number,
  size: number,
  params: LogisticRegressionParams,
  options: LogisticRegressionOptions,
): Promise<{ theta: Float64Array; iterations: number; loss: number }> {
  const history = 10;
  let theta = new Float64Array(size);
  let grad = new Float64Array(size);
  let loss = f(theta, grad);
  const s: Float64Array[] = [];
  const yv: Float64Array[] = [];
  const maxAbs = (v: Float64Array) => v.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  let iterations = 0;
  while (iterations < params.maxIterations && maxAbs(grad) > params.tolerance) {
    // two-loop recursion: direction = −H·grad
    const q = Float64Array.from(grad);
    const alpha = new Float64Array(s.length);
    for (let k = s.length - 1; k >= 0; k--) {
      alpha[k] = dot(s[k]!, q) / dot(yv[k]!, s[k]!);
      for (let i = 0; i < size; i++) q[i]! -= alpha[k]! * yv[k]![i]!;
    }
    const last = s.length - 1;
    const gamma = last >= 0 ? dot(s[last]!, yv[last]!) / dot(yv[last]!, yv[last]!) : 1 / Math.max(1, Math.sqrt(dot(grad, grad)));
    for (let i = 0; i < size; i++) q[i]! *= gamma;
    for (let k = 0; k < s.length; k++) {
      const beta = dot(yv[k]!, q) / dot(yv[k]!, s[k]!);
      for (let i = 0; i < size; i++) q[i]! += s[k]![i]! * (alpha[k]! - beta);
    }
    const direction = q.map((v) => -v);
    let slope = dot(grad, direction);
    if (slope >= 0) {
      // not a descent direction: restart from steepest descent
      s.length = 0;
      yv.length = 0;
      for (let i = 0; i < size; i++) direction[i] = -grad[i]!;
      slope = -dot(grad, grad);
    }
    let step = 1;
    const candidate = new Float64Array(size);
    const candidateGrad = new Float64Array(size);
    let candidateLoss = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < size; i++) candidate[i] = theta[i]! + step * direction[i]!;
      candidateLoss = f(candidate, candidateGrad);
      if (candidateLoss <= loss + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(candidateLoss < loss) && !(candidateLoss <= loss + 1e-4 * step * slope)) break;
    const sk = candidate.map((v, i) => v - theta[i]!);
    const yk = candidateGrad.map((v, i) => v - grad[i]!);
    if (dot(sk, yk) > 1e-12) {
      s.push(sk);
      yv.push(yk);
      if (s.length > history) {
        s.shift();
        yv.shift();
      }
    }
    const improvement = loss - candidateLoss;
    theta = candidate;
    grad = candidateGrad;
    loss = candidateLoss;
    iterations++;
    options.onIteration?.({ iterations, total: params.maxIterations, loss });
    await yieldToEventLoop();
    options.signal?.throwIfAborted();
    if (improvement <= 1e-12 * Math.max(1, Math.abs(loss))) break;
  }
  return { theta, iterations, loss };
}
