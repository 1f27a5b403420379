// Plain JavaScript on purpose: the histogram helper thread loads this file directly, and a worker
// thread does not get the TypeScript loader (tsx) the rest of plumb runs under.

/** Per feature: 256 bins × (gradient sum, hessian sum, row count). */
export const HISTOGRAM_STRIDE = 256 * 3;

/** Adds rows index[start..end) into `hist` (not cleared): the hot loop of GBDT training. */
export function accumulateHistogram(hist, index, start, end, bins, features, grad, hess) {
  for (let k = start; k < end; k++) {
    const r = index[k];
    const g = grad[r];
    const h = hess[r];
    const base = r * features;
    for (let j = 0, offset = 0; j < features; j++, offset += HISTOGRAM_STRIDE) {
      const o = offset + bins[base + j] * 3;
      hist[o] += g;
      hist[o + 1] += h;
      hist[o + 2]++;
    }
  }
}
