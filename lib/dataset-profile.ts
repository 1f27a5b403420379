import { z } from 'zod';
import { ColumnType, Sha256 } from './refs.js';

/**
 * Per-column statistics of a dataset (profile step). It is also the reference for drift: numeric
 * columns carry quantile bin edges and the count of rows in each bin, categorical ones their value
 * counts, so live data can be binned the same way and compared (PSI, KS, Jensen–Shannon…).
 * Bin i holds values in [edges[i], edges[i+1]), the last bin also its upper edge.
 */
export const NumericProfile = z.object({
  min: z.number().nullable(),
  max: z.number().nullable(),
  mean: z.number().nullable(),
  stddev: z.number().nullable(),
  quantiles: z.array(z.object({ q: z.number(), value: z.number().nullable() })),
  bins: z.object({ edges: z.array(z.number()), counts: z.array(z.number().int().nonnegative()) }),
});
export type NumericProfile = z.infer<typeof NumericProfile>;

export const CategoricalProfile = z.object({
  /** The most frequent values, most frequent first (ties by value). */
  top: z.array(z.object({ value: z.string(), count: z.number().int().nonnegative() })),
  /** Non-null rows whose value is not in `top`. */
  otherCount: z.number().int().nonnegative(),
});
export type CategoricalProfile = z.infer<typeof CategoricalProfile>;

export const ColumnProfile = z.object({
  name: z.string(),
  type: ColumnType,
  count: z.number().int().nonnegative(),
  nulls: z.number().int().nonnegative(),
  approxDistinct: z.number().int().nonnegative(),
  numeric: NumericProfile.optional(),
  categorical: CategoricalProfile.optional(),
  /** Smallest and largest value of a date or timestamp column, as text. */
  range: z.object({ min: z.string().nullable(), max: z.string().nullable() }).optional(),
});
export type ColumnProfile = z.infer<typeof ColumnProfile>;

export const DatasetProfile = z.object({
  dataset: Sha256,
  rows: z.number().int().nonnegative(),
  columns: z.array(ColumnProfile),
});
export type DatasetProfile = z.infer<typeof DatasetProfile>;

export const PROFILE_QUANTILES = [0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1] as const;
/** Number of equal-frequency bins per numeric column. */
export const PROFILE_BINS = 10;
/** Number of most frequent values kept per categorical column. */
export const PROFILE_TOP_VALUES = 50;
