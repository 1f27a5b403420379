export declare const HISTOGRAM_STRIDE: number;
export declare function accumulateHistogram(
  hist: Float64Array,
  index: Uint32Array,
  start: number,
  end: number,
  bins: Uint8Array,
  features: number,
  grad: Float64Array,
  hess: Float64Array,
): void;
