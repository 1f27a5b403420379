import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { z } from 'zod';
import { HISTOGRAM_STRIDE as STRIDE, HistogramBuilder, sharedTrainingArrays } from './gbdt-histograms.js';
import type { CategoryMapping, TreeModelSpec, TreeNodes } from './onnx-export.js';
import { isMissingCategory, seededRandom, sigmoid, splitRows, type TrainingData } from './training-data.js';

/**
 * Histogram-based gradient-boosted trees for binary classification (logistic loss), grown leaf-wise
 * like LightGBM. Features are binned once into uint8 (≤ 255 value bins + one missing bin); each
 * split builds the histogram of the smaller child only and gets the other by subtraction. A split
 * learns where missing values go, and the exported trees send NaN the same way. Categorical
 * features are coded by their training positive rate (recorded mapping), so one threshold
 * separates high- from low-risk categories.
 */
export const GbdtParams = z.strictObject({
  trees: z.number().int().min(1).max(10_000).default(100),
  learningRate: z.number().gt(0).max(1).default(0.1),
  maxDepth: z.number().int().min(1).max(32).default(6),
  maxLeaves: z.number().int().min(2).max(4096).default(31),
  minSamplesLeaf: z.number().int().min(1).default(20),
  subsample: z.number().gt(0).max(1).default(1),
  l2: z.number().min(0).default(1),
  maxBins: z.number().int().min(2).max(255).default(255),
  /** Share of the training rows held out for early stopping; 0 turns early stopping off. */
  validationFraction: z.number().min(0).max(0.5).default(0.1),
  earlyStoppingRounds: z.number().int().min(1).default(10),
  seed: z.number().int().default(1),
  /** Histogram threads; the model is the same for 1 and 2. */
  threads: z.union([z.literal(1), z.literal(2)]).default(2),
});
export type GbdtParams = z.infer<typeof GbdtParams>;

export interface GbdtProgress {
  trees: number;
  total: number;
  validationLogLoss?: number;
}

export interface GbdtResult {
  spec: TreeModelSpec;
  bestIteration: number;
  validationLogLoss: number | undefined;
}

const MISSING = 255;

/** A tree as grown: thresholds also as bin numbers, for scoring binned rows. */
type BinnedTree = TreeNodes & { bin: Uint8Array };

interface SplitChoice {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
}

interface Leaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  hist: Float64Array;
  g: number;
  h: number;
  split: SplitChoice | undefined;
}

/** Positive-rate order of categories, smoothed toward the overall rate; ties by name. */
function categoryCodes(values: (string | null)[], labels: Float64Array, rows: Uint32Array): CategoryMapping {
  const stats = new Map<string, { n: number; p: number }>();
  let positives = 0;
  for (const r of rows) {
    const v = values[r];
    positives += labels[r]!;
    if (isMissingCategory(v)) continue;
    const s = stats.get(v!) ?? { n: 0, p: 0 };
    s.n++;
    s.p += labels[r]!;
    stats.set(v!, s);
  }
  const prior = positives / Math.max(rows.length, 1);
  const rate = (s: { n: number; p: number }) => (s.p + 10 * prior) / (s.n + 10);
  const categories = [...stats.keys()].sort((a, b) => rate(stats.get(a)!) - rate(stats.get(b)!) || (a < b ? -1 : a > b ? 1 : 0));
  return { categories, values: categories.map((_, i) => i), missing: NaN };
}

/** float32 thresholds t_0 < t_1 < …; value bin of x = first k with x ≤ t_k (or thresholds.length). */
function binThresholds(values: Float64Array, rows: Uint32Array, maxBins: number): Float32Array {
  const step = Math.max(1, Math.floor(rows.length / 200_000));
  const sample = new Float64Array(Math.ceil(rows.length / step));
  let m = 0;
  for (let k = 0; k < rows.length; k += step) {
    const x = values[rows[k]!]!;
    if (!Number.isNaN(x)) sample[m++] = x;
  }
  const sorted = sample.subarray(0, m).sort();
  const distinct: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]!);
  const thresholds: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++) {
      const a = distinct[i]!;
      const b = distinct[i + 1]!;
      const mid = Math.fround((a + b) / 2);
      thresholds.push(mid >= b ? a : mid);
    }
  } else {
    for (let k = 1; k < maxBins; k++) {
      const t = sorted[Math.floor((k * sorted.length) / maxBins)]!;
      if (t !== thresholds[thresholds.length - 1] && t !== distinct[distinct.length - 1]) thresholds.push(t);
    }
  }
  return Float32Array.from(thresholds);
}

function binOf(thresholds: Float32Array, x: number): number {
  if (Number.isNaN(x)) return MISSING;
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= thresholds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Trains the ensemble. Between trees it yields to the event loop (so an activity's heartbeats go
 * out and cancellation is seen) and stops with the abort reason once `signal` is aborted.
 */
export async function trainGbdt(
  data: TrainingData,
  params: GbdtParams,
  options: { onTree?: (p: GbdtProgress) => void; signal?: AbortSignal | undefined } = {},
): Promise<GbdtResult> {
  const F = data.features.length;
  const { train, validation } = splitRows(data.rows, params.validationFraction, params.seed);
  const labels = data.labels;

  const encodings = data.features.map((f, j) =>
    f.type === 'categorical' ? categoryCodes(data.columns[j] as (string | null)[], labels, train) : undefined,
  );
  const numeric = data.columns.map((column, j) => {
    const encoding = encodings[j];
    if (!encoding) return column as Float64Array;
    const table = new Map(encoding.categories.map((c, i) => [c, encoding.values[i]!]));
    return Float64Array.from(column as (string | null)[], (v) => (isMissingCategory(v) ? NaN : (table.get(v!) ?? NaN)));
  });
  const thresholds = numeric.map((values) => binThresholds(values, train, params.maxBins));
  const binRows = (rows: Uint32Array, bins: Uint8Array = new Uint8Array(rows.length * F)): Uint8Array => {
    for (let j = 0; j < F; j++) {
      const values = numeric[j]!;
      const t = thresholds[j]!;
      for (let k = 0; k < rows.length; k++) bins[k * F + j] = binOf(t, values[rows[k]!]!);
    }
    return bins;
  };
  const n = train.length;
  const shared = sharedTrainingArrays(n, F);
  const bins = binRows(train, shared.bins);
  const validBins = binRows(validation);
  const y = Float64Array.from(train, (r) => labels[r]!);
  const yValid = Float64Array.from(validation, (r) => labels[r]!);

  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean /= n;
  const baseScore = Math.fround(Math.log(mean / (1 - mean)));
  const score = new Float64Array(n).fill(baseScore);
  const validScore = new Float64Array(validation.length).fill(baseScore);
  const { grad, hess, index } = shared;
  const histograms = await HistogramBuilder.create(shared, F, params.threads);
  const scratch = new Uint32Array(n);
  const random = seededRandom(params.seed);
  const trees: BinnedTree[] = [];
  let bestLoss = Infinity;
  let bestIteration = 0;

  try {
    for (let t = 0; t < params.trees; t++) {
      for (let i = 0; i < n; i++) {
        const p = sigmoid(score[i]!);
        grad[i] = p - y[i]!;
        hess[i] = Math.max(p * (1 - p), 1e-16);
      }
      let used = 0;
      for (let i = 0; i < n; i++) if (params.subsample >= 1 || random() < params.subsample) index[used++] = i;
      const tree = growTree(histograms, index, used, scratch, bins, F, grad, hess, thresholds, params);
      trees.push(tree);
      addTree(tree, bins, F, n, score);
      let validationLogLoss: number | undefined;
      if (validation.length > 0) {
        addTree(tree, validBins, F, validation.length, validScore);
        validationLogLoss = logLossOf(yValid, validScore);
        if (validationLogLoss < bestLoss - 1e-12) {
          bestLoss = validationLogLoss;
          bestIteration = t + 1;
        }
      } else {
        bestIteration = t + 1;
      }
      options.onTree?.({ trees: t + 1, total: params.trees, ...(validationLogLoss === undefined ? {} : { validationLogLoss }) });
      await yieldToEventLoop();
      options.signal?.throwIfAborted();
      if (validation.length > 0 && t + 1 - bestIteration >= params.earlyStoppingRounds) break;
    }
  } finally {
    await histograms.close();
  }
  return {
    spec: { kind: 'trees', features: data.features, encodings, trees: trees.slice(0, bestIteration).map(({ bin: _bin, ...nodes }) => nodes), baseScore },
    bestIteration,
    validationLogLoss: validation.length > 0 ? bestLoss : undefined,
  };
}

function logLossOf(y: Float64Array, score: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const z = score[i]!;
    // log(1 + e^z) − y·z, computed without overflow
    sum += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i]! * z;
  }
  return sum / y.length;
}

function addTree(tree: BinnedTree, bins: Uint8Array, F: number, rows: number, score: Float64Array): void {
  const binThreshold = tree.bin;
  for (let i = 0; i < rows; i++) {
    let node = 0;
    const base = i * F;
    while (tree.feature[node]! >= 0) {
      const b = bins[base + tree.feature[node]!]!;
      const goLeft = b === MISSING ? tree.missingLeft[node] === 1 : b <= binThreshold[node]!;
      node = goLeft ? tree.left[node]! : tree.right[node]!;
    }
    score[i]! += tree.value[node]!;
  }
}

function bestSplit(hist: Float64Array, G: number, H: number, C: number, thresholds: Float32Array[], params: GbdtParams): SplitChoice | undefined {
  const lambda = params.l2;
  const minLeaf = params.minSamplesLeaf;
  const parentScore = (G * G) / (H + lambda);
  let best: SplitChoice | undefined;
  for (let j = 0; j < thresholds.length; j++) {
    const nb = thresholds[j]!.length + 1;
    if (nb < 2) continue;
    const offset = j * STRIDE;
    const gm = hist[offset + MISSING * 3]!;
    const hm = hist[offset + MISSING * 3 + 1]!;
    const cm = hist[offset + MISSING * 3 + 2]!;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    for (let b = 0; b < nb - 1; b++) {
      const o = offset + b * 3;
      gl += hist[o]!;
      hl += hist[o + 1]!;
      cl += hist[o + 2]!;
      for (let side = 0; side < (cm > 0 ? 2 : 1); side++) {
        const withMissing = side === 1;
        const GL = withMissing ? gl + gm : gl;
        const HL = withMissing ? hl + hm : hl;
        const CL = withMissing ? cl + cm : cl;
        const CR = C - CL;
        if (CL < minLeaf || CR < minLeaf) continue;
        const GR = G - GL;
        const HR = H - HL;
        const gain = (GL * GL) / (HL + lambda) + (GR * GR) / (HR + lambda) - parentScore;
        if (gain > 1e-12 && (!best || gain > best.gain)) {
          best = { gain, feature: j, bin: b, missingLeft: cm > 0 ? withMissing : CL >= CR };
        }
      }
    }
  }
  return best;
}

function growTree(
  histograms: HistogramBuilder,
  index: Uint32Array,
  used: number,
  scratch: Uint32Array,
  bins: Uint8Array,
  F: number,
  grad: Float64Array,
  hess: Float64Array,
  thresholds: Float32Array[],
  params: GbdtParams,
): BinnedTree {
  const feature: number[] = [-1];
  const bin: number[] = [0];
  const threshold: number[] = [0];
  const missingLeft: number[] = [0];
  const left: number[] = [0];
  const right: number[] = [0];
  const value: number[] = [0];

  const rootHist = new Float64Array(F * STRIDE);
  histograms.build(rootHist, 0, used);
  let G = 0;
  let H = 0;
  for (let k = 0; k < used; k++) {
    G += grad[index[k]!]!;
    H += hess[index[k]!]!;
  }
  const withSplit = (leaf: Omit<Leaf, 'split'>): Leaf => ({
    ...leaf,
    split: leaf.depth < params.maxDepth ? bestSplit(leaf.hist, leaf.g, leaf.h, leaf.end - leaf.start, thresholds, params) : undefined,
  });
  const leaves: Leaf[] = [withSplit({ node: 0, start: 0, end: used, depth: 0, hist: rootHist, g: G, h: H })];

  while (leaves.length < params.maxLeaves) {
    let pick = -1;
    for (let i = 0; i < leaves.length; i++) {
      const s = leaves[i]!.split;
      if (s && (pick < 0 || s.gain > leaves[pick]!.split!.gain)) pick = i;
    }
    if (pick < 0) break;
    const parent = leaves[pick]!;
    const s = parent.split!;
    // stable partition of the parent's rows: left ones stay in place, right ones via scratch
    let l = parent.start;
    let r = 0;
    for (let k = parent.start; k < parent.end; k++) {
      const row = index[k]!;
      const b = bins[row * F + s.feature]!;
      if (b === MISSING ? s.missingLeft : b <= s.bin) index[l++] = row;
      else scratch[r++] = row;
    }
    index.set(scratch.subarray(0, r), l);

    const leftNode = feature.length;
    const rightNode = leftNode + 1;
    for (const _ of [leftNode, rightNode]) {
      feature.push(-1);
      bin.push(0);
      threshold.push(0);
      missingLeft.push(0);
      left.push(0);
      right.push(0);
      value.push(0);
    }
    feature[parent.node] = s.feature;
    bin[parent.node] = s.bin;
    threshold[parent.node] = thresholds[s.feature]![s.bin]!;
    missingLeft[parent.node] = s.missingLeft ? 1 : 0;
    left[parent.node] = leftNode;
    right[parent.node] = rightNode;

    const leftRange = { start: parent.start, end: l };
    const rightRange = { start: l, end: parent.end };
    const leftSmaller = leftRange.end - leftRange.start <= rightRange.end - rightRange.start;
    const small = leftSmaller ? leftRange : rightRange;
    const smallHist = new Float64Array(F * STRIDE);
    histograms.build(smallHist, small.start, small.end);
    const largeHist = parent.hist;
    for (let i = 0; i < largeHist.length; i++) largeHist[i]! -= smallHist[i]!;
    const sums = (hist: Float64Array) => {
      let g = 0;
      let h = 0;
      for (let o = 0; o < STRIDE; o += 3) {
        g += hist[o]!;
        h += hist[o + 1]!;
      }
      return { g, h };
    };
    const leftHist = leftSmaller ? smallHist : largeHist;
    const rightHist = leftSmaller ? largeHist : smallHist;
    const depth = parent.depth + 1;
    leaves.splice(
      pick,
      1,
      withSplit({ node: leftNode, ...leftRange, depth, hist: leftHist, ...sums(leftHist) }),
      withSplit({ node: rightNode, ...rightRange, depth, hist: rightHist, ...sums(rightHist) }),
    );
  }
  for (const leaf of leaves) value[leaf.node] = Math.fround((-params.learningRate * leaf.g) / (leaf.h + params.l2));
  return {
    feature: Int32Array.from(feature),
    threshold: Float32Array.from(threshold),
    missingLeft: Uint8Array.from(missingLeft),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float32Array.from(value),
    bin: Uint8Array.from(bin),
  };
}
