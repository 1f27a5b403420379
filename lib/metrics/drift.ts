import type { DriftMethod, DriftThresholds } from '../drift-contracts.js';

/**
 * Drift statistics, defined exactly as numpy/scipy define them, over the small summaries (counts
 * per bin, cumulative counts, sample sizes) that the drift activity computes in DuckDB. Every
 * function here is pure; test/fixtures/drift/make-reference.py produces the values they are
 * checked against.
 */

/**
 * Population stability index over shared bins: Σ (c − r) · ln(c / r) with c, r the current and
 * reference proportions. A proportion of 0 (an empty bin) is replaced by `epsilon` (default 1e-4)
 * before the sum, with no renormalisation, so the index stays finite.
 *
 *   psi([50, 50], [40, 60]) // 0.0405…
 */
export function psi(referenceCounts: readonly number[], currentCounts: readonly number[], epsilon = PSI_EPSILON): number {
  const r = proportions(referenceCounts);
  const c = proportions(currentCounts);
  let sum = 0;
  for (let i = 0; i < r.length; i++) {
    const ri = Math.max(r[i] ?? 0, 0) || epsilon;
    const ci = Math.max(c[i] ?? 0, 0) || epsilon;
    sum += (ci - ri) * Math.log(ci / ri);
  }
  return sum;
}

/** The proportion that replaces an empty bin in `psi`. */
export const PSI_EPSILON = 1e-4;

/**
 * Jensen–Shannon distance (the square root of the divergence) in base 2, so it lies in [0, 1]:
 * `scipy.spatial.distance.jensenshannon(p, q, base=2)`. Inputs are counts or proportions; each is
 * normalised to sum 1 first, as scipy does.
 */
export function jensenShannonDistance(p: readonly number[], q: readonly number[]): number {
  const a = proportions(p);
  const b = proportions(q);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i] ?? 0;
    const bi = b[i] ?? 0;
    const m = (ai + bi) / 2;
    if (ai > 0) sum += ai * Math.log(ai / m);
    if (bi > 0) sum += bi * Math.log(bi / m);
  }
  return Math.sqrt(Math.max(sum / 2 / Math.LN2, 0));
}

export interface ChiSquaredResult {
  statistic: number;
  pValue: number;
  dof: number;
}

/**
 * Pearson's chi-squared test of independence on the 2 × K table (reference counts, current
 * counts) — `scipy.stats.chi2_contingency(table)` with its defaults, including Yates' continuity
 * correction when the table has one degree of freedom (two categories). Categories are the union of
 * both samples, so no expected count is zero.
 */
export function chiSquaredContingency(referenceCounts: readonly number[], currentCounts: readonly number[]): ChiSquaredResult {
  const k = referenceCounts.length;
  const dof = k - 1;
  if (dof <= 0) return { statistic: 0, pValue: 1, dof: 0 };
  const rows = [referenceCounts, currentCounts];
  const rowTotals = rows.map((r) => r.reduce((s, v) => s + v, 0));
  const total = (rowTotals[0] ?? 0) + (rowTotals[1] ?? 0);
  let statistic = 0;
  for (let j = 0; j < k; j++) {
    const colTotal = (referenceCounts[j] ?? 0) + (currentCounts[j] ?? 0);
    for (let i = 0; i < 2; i++) {
      const expected = ((rowTotals[i] ?? 0) * colTotal) / total;
      let observed = rows[i]?.[j] ?? 0;
      if (dof === 1) {
        const diff = expected - observed;
        observed += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
      }
      statistic += (observed - expected) ** 2 / expected;
    }
  }
  return { statistic, pValue: chiSquaredSurvival(statistic, dof), dof };
}

/** P(X ≥ x) for X ~ χ²(dof): `scipy.stats.chi2.sf(x, dof)`. */
export function chiSquaredSurvival(x: number, dof: number): number {
  if (x <= 0) return 1;
  return upperRegularizedGamma(dof / 2, x / 2);
}

/**
 * The two-sample Kolmogorov–Smirnov p-value (two-sided) for the statistic D = h / lcm(n1, n2),
 * where h is the integer numerator from the cumulative counts.
 *
 * - max(n1, n2) ≤ 10 000: the exact distribution, as `scipy.stats.ks_2samp(method='auto')`
 *   (which chooses 'exact' there): lattice-path counting.
 * - larger samples: Kolmogorov's limiting distribution, `scipy.stats.kstwobign.sf(D·√(n1·n2/(n1+n2)))`.
 *   scipy's 'asymp' method uses `kstwo.sf(D, round(n1·n2/(n1+n2)))` instead; the two differ by
 *   O(1/√n), which is why the fixtures and the bench compare against `kstwobign` for this case.
 */
export function ksTwoSamplePValue(n1: number, n2: number, d: number): { pValue: number; method: 'exact' | 'asymptotic' } {
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = Math.round(d * lcm);
    if (h === 0) return { pValue: 1, method: 'exact' };
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideLattice(n1, n2, g, h);
    if (Number.isFinite(p) && p >= 0 && p <= 1) return { pValue: p, method: 'exact' };
  }
  const en = (n1 * n2) / (n1 + n2);
  return { pValue: clamp01(kolmogorovSurvival(d * Math.sqrt(en))), method: 'asymptotic' };
}

export const KS_EXACT_MAX_N = 10_000;

/** Pr(D_{n,n} ≥ h/n), by scipy's Horner-like alternating sum. */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * Pr(D_{m,n} ≥ h/lcm) for m ≠ n: the share of monotone lattice paths from (0,0) to (m,n) that
 * leave the band |x/m − y/n| < h/lcm. Entries are kept as probabilities (path counts divided by
 * binom(i+j, j)) so they never overflow; one sliding column of the table is kept.
 */
function probOutsideLattice(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  // A[j] holds Pr(path to (i, j) has already left the band); the first column is inside up to maxj.
  const a = new Float64Array(lenA).fill(1);
  a.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((a[jj + minj - lastminj] ?? 1) * i + val * j) / (i + j);
      a[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) a.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return a[maxj - minj - 1] ?? 1;
}

/** Kolmogorov's limiting distribution: P(K > x) = 2 Σ (−1)^(k−1) e^(−2k²x²) (`scipy.special.kolmogorov`). */
export function kolmogorovSurvival(x: number): number {
  if (x <= 0) return 1;
  if (x < 1) {
    // The alternating series converges slowly for small x; use the Jacobi-theta form of the CDF.
    const w = Math.sqrt(2 * Math.PI) / x;
    let cdf = 0;
    for (let k = 1; k <= 50; k++) {
      const t = Math.exp(-((2 * k - 1) ** 2) * Math.PI * Math.PI / (8 * x * x));
      cdf += t;
      if (t < 1e-300) break;
    }
    return 1 - w * cdf;
  }
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const t = Math.exp(-2 * k * k * x * x);
    sum += (k % 2 === 1 ? 1 : -1) * t;
    if (t < 1e-300) break;
  }
  return 2 * sum;
}

/** Q(a, x), the regularised upper incomplete gamma function (`scipy.special.gammaincc`). */
export function upperRegularizedGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return clamp01(1 - sum * Math.exp(logPrefix));
  }
  // Modified Lentz continued fraction.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let f = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return clamp01(Math.exp(logPrefix) * f);
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error below 1e-14). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let s = LANCZOS[0] ?? 1;
  for (let i = 1; i < LANCZOS.length; i++) s += (LANCZOS[i] ?? 0) / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

function proportions(counts: readonly number[]): number[] {
  const total = counts.reduce((s, v) => s + v, 0);
  return counts.map((v) => (total > 0 ? v / total : 0));
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

const clamp01 = (p: number) => Math.min(1, Math.max(0, p));

export interface Verdict {
  method: DriftMethod;
  score: number;
  threshold: number;
  drifted: boolean;
}

export interface DriftScores {
  psi: number;
  jensenShannon: number;
  ksPValue?: number;
  wassersteinNormalised?: number;
  chiSquaredPValue?: number;
}

/**
 * Turns a feature's scores into a verdict under `thresholds` (see `DriftThresholds` for the
 * `auto` rule). p-value methods drift when p < threshold; distance methods when score ≥ threshold.
 *
 *   featureVerdict('numeric', 5000, 5000, { psi: 0.02, jensenShannon: 0.05, ksPValue: 0.3, wassersteinNormalised: 0.12 }, t)
 *   // → { method: 'wasserstein', score: 0.12, threshold: 0.1, drifted: true }
 */
export function featureVerdict(
  type: 'numeric' | 'categorical',
  referenceRows: number,
  currentRows: number,
  scores: DriftScores,
  thresholds: DriftThresholds,
): Verdict {
  const small = Math.min(referenceRows, currentRows) <= thresholds.smallSample;
  const chosen = type === 'numeric' ? thresholds.numericMethod : thresholds.categoricalMethod;
  const method: DriftMethod =
    chosen !== 'auto' ? chosen : type === 'numeric' ? (small ? 'ks' : 'wasserstein') : small ? 'chiSquared' : 'jensenShannon';
  const pick = (score: number | undefined, threshold: number, pValue: boolean): Verdict => {
    if (score === undefined) throw new Error(`drift method ${method} has no score for a ${type} feature`);
    return { method, score, threshold, drifted: pValue ? score < threshold : score >= threshold };
  };
  switch (method) {
    case 'ks':
      return pick(scores.ksPValue, thresholds.pValue, true);
    case 'chiSquared':
      return pick(scores.chiSquaredPValue, thresholds.pValue, true);
    case 'wasserstein':
      return pick(scores.wassersteinNormalised, thresholds.wasserstein, false);
    case 'psi':
      return pick(scores.psi, thresholds.psi, false);
    case 'jensenShannon':
      return pick(scores.jensenShannon, thresholds.jensenShannon, false);
  }
}

/** The dataset-level verdict: the share of drifted features against `thresholds.datasetShare`. */
export function datasetVerdict(features: readonly { name: string; drifted: boolean }[], thresholds: DriftThresholds) {
  const driftedFeatures = features.filter((f) => f.drifted).map((f) => f.name);
  const share = features.length === 0 ? 0 : driftedFeatures.length / features.length;
  return { drifted: share >= thresholds.datasetShare, share, driftedFeatures, threshold: thresholds.datasetShare };
}

/** Wasserstein distance divided by the reference's population std, floored at 0.001 (Evidently's floor) so a constant reference stays finite. */
export function normaliseWasserstein(distance: number, referenceStd: number): number {
  return distance / Math.max(referenceStd, WASSERSTEIN_STD_FLOOR);
}

export const WASSERSTEIN_STD_FLOOR = 0.001;

/**
 * The q-quantile of sorted values with numpy's default 'linear' method (`np.quantile(x, q)`),
 * including numpy's two-sided interpolation formula, so bin edges agree to the last bit.
 */
export function quantileLinear(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const virtual = (n - 1) * q;
  if (virtual >= n - 1) return sorted[n - 1]!;
  if (virtual < 0) return sorted[0]!;
  const lo = Math.floor(virtual);
  const t = virtual - lo;
  const a = sorted[lo]!;
  const b = sorted[lo + 1]!;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Number of sorted values strictly below x. */
export function countBelow(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Counts per bin for ascending split points: bin k holds splits[k−1] ≤ v < splits[k], the bin
 * `np.searchsorted(splits, v, side='right')` assigns; there are splits.length + 1 bins.
 */
export function binCounts(sorted: Float64Array, splits: readonly number[]): number[] {
  const counts: number[] = [];
  let previous = 0;
  for (const e of splits) {
    const below = countBelow(sorted, e);
    counts.push(below - previous);
    previous = below;
  }
  counts.push(sorted.length - previous);
  return counts;
}

/**
 * The two-sample KS numerator and the 1-Wasserstein distance from one merge of two sorted samples:
 * `h = max |i·n2 − j·n1|` over the distinct values (so D = h / (n1·n2), exact in integers), and
 * Σ |F1 − F2| · Δx, which is `scipy.stats.wasserstein_distance(u, v)`.
 */
export function mergeEcdfs(a: Float64Array, b: Float64Array): { h: number; distance: number } {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let h = 0;
  let sum = 0;
  let compensation = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < n1 && a[i] === v) i++;
    while (j < n2 && b[j] === v) j++;
    const d = Math.abs(i * n2 - j * n1);
    if (d > h) h = d;
    if (i < n1 || j < n2) {
      const next = j >= n2 ? a[i]! : i >= n1 ? b[j]! : Math.min(a[i]!, b[j]!);
      // Neumaier summation: two million terms summed naively would drift from numpy's pairwise sum.
      const term = Math.abs(i / n1 - j / n2) * (next - v);
      const t = sum + term;
      compensation += Math.abs(sum) >= Math.abs(term) ? sum - t + term : term - t + sum;
      sum = t;
    }
  }
  return { h, distance: sum + compensation };
}

/** Population standard deviation (`np.std(x)`, ddof 0), two-pass with compensated sums. */
export function populationStd(values: Float64Array): number {
  const n = values.length;
  const mean = compensatedSum(values, (v) => v) / n;
  return Math.sqrt(compensatedSum(values, (v) => (v - mean) * (v - mean)) / n);
}

function compensatedSum(values: Float64Array, f: (v: number) => number): number {
  let sum = 0;
  let c = 0;
  for (let k = 0; k < values.length; k++) {
    const x = f(values[k]!);
    const t = sum + x;
    c += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
    sum = t;
  }
  return sum + c;
}
