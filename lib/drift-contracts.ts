import { z } from 'zod';
import { DatasetRef, Feature } from './refs.js';

/**
 * The drift step's contracts: what to compare, the thresholds that turn scores into verdicts, and
 * the result (scores, verdicts and the small histograms the HTML report draws).
 */

/** One Parquet file, a directory-free glob (`log/model=churn/hour=*.parquet`), or a list of them. */
export const ParquetSource = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
export type ParquetSource = z.infer<typeof ParquetSource>;

/**
 * Thresholds and the rule per feature type. With `auto` (the default, Evidently's rule) a numeric
 * feature is judged by the KS p-value when either sample has at most `smallSample` rows and by the
 * normalised Wasserstein distance otherwise; a categorical one by the chi-squared p-value, resp.
 * the Jensen–Shannon distance. The dataset drifts when at least `datasetShare` of its features do.
 */
export const DriftThresholds = z.strictObject({
  numericMethod: z.enum(['auto', 'ks', 'wasserstein', 'psi', 'jensenShannon']).default('auto'),
  categoricalMethod: z.enum(['auto', 'chiSquared', 'jensenShannon', 'psi']).default('auto'),
  smallSample: z.number().int().nonnegative().default(1000),
  pValue: z.number().gt(0).lt(1).default(0.05),
  wasserstein: z.number().positive().default(0.1),
  jensenShannon: z.number().positive().max(1).default(0.1),
  psi: z.number().positive().default(0.1),
  /** Number of reference-quantile bins for PSI and Jensen–Shannon on numeric features. */
  bins: z.number().int().min(2).max(100).default(10),
  datasetShare: z.number().gt(0).max(1).default(0.5),
});
export type DriftThresholds = z.infer<typeof DriftThresholds>;
export type DriftThresholdsInput = z.input<typeof DriftThresholds>;

/** A model output compared like a feature; `referenceName` when the reference calls it differently. */
export const PredictionColumn = Feature.extend({ referenceName: z.string().min(1).optional() });
export type PredictionColumn = z.infer<typeof PredictionColumn>;

export const DriftInput = z.strictObject({
  /** The training data: a Parquet path/glob, or a stored dataset. */
  reference: z.union([ParquetSource, DatasetRef]),
  /** The window of the prediction log (Parquet partitions). */
  current: ParquetSource,
  features: z.array(Feature).min(1),
  predictions: z
    .strictObject({
      columns: z.array(PredictionColumn).min(1),
      /** Where the reference distribution of the outputs is; the `reference` data by default. */
      reference: z.union([ParquetSource, DatasetRef]).optional(),
    })
    .optional(),
  thresholds: DriftThresholds.prefault({}),
});
export type DriftInput = z.infer<typeof DriftInput>;

export const NumericHistogram = z.object({
  kind: z.literal('numeric'),
  /** Equal-width bin edges over the range of both samples (length = bins + 1). */
  edges: z.array(z.number()),
  reference: z.array(z.number().int()),
  current: z.array(z.number().int()),
});
export const CategoricalHistogram = z.object({
  kind: z.literal('categorical'),
  /** The most frequent categories of both samples, then everything else under `other`. */
  categories: z.array(z.string()),
  reference: z.array(z.number().int()),
  current: z.array(z.number().int()),
  otherReference: z.number().int(),
  otherCurrent: z.number().int(),
});

export const DriftMethod = z.enum(['ks', 'wasserstein', 'psi', 'jensenShannon', 'chiSquared']);
export type DriftMethod = z.infer<typeof DriftMethod>;

export const FeatureDrift = z.object({
  name: z.string(),
  type: z.enum(['numeric', 'categorical']),
  drifted: z.boolean(),
  /** The statistic the verdict used, its value and the threshold it was compared with. */
  method: DriftMethod,
  score: z.number(),
  threshold: z.number(),
  reference: z.object({ rows: z.number().int(), nulls: z.number().int() }),
  current: z.object({ rows: z.number().int(), nulls: z.number().int() }),
  psi: z.number(),
  jensenShannon: z.number(),
  ks: z.object({ statistic: z.number(), pValue: z.number(), pValueMethod: z.enum(['exact', 'asymptotic']) }).optional(),
  wasserstein: z.object({ distance: z.number(), normalised: z.number(), referenceStd: z.number() }).optional(),
  chiSquared: z.object({ statistic: z.number(), pValue: z.number(), dof: z.number().int() }).optional(),
  histogram: z.discriminatedUnion('kind', [NumericHistogram, CategoricalHistogram]),
});
export type FeatureDrift = z.infer<typeof FeatureDrift>;

export const DriftResult = z.object({
  features: z.array(FeatureDrift),
  predictions: z.array(FeatureDrift),
  dataset: z.object({
    drifted: z.boolean(),
    share: z.number(),
    driftedFeatures: z.array(z.string()),
    threshold: z.number(),
  }),
  rows: z.object({ reference: z.number().int(), current: z.number().int() }),
  thresholds: DriftThresholds,
});
export type DriftResult = z.infer<typeof DriftResult>;
