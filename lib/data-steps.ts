import { z } from 'zod';
import { ExpectationSuite } from './expectations.js';
import { ArtifactRef, ColumnType, DatasetRef, Feature } from './refs.js';

/** Inputs and results of the data steps (ingest, validate, profile, features, split). */

export const DATA_FORMATS = ['csv', 'tsv', 'parquet', 'jsonl', 'arrow'] as const;
export const DataFormat = z.enum(DATA_FORMATS);
export type DataFormat = z.infer<typeof DataFormat>;

/** A declared column for ingest; absent `nullable` means nulls are allowed. */
export const DeclaredColumn = z.strictObject({
  name: z.string().min(1),
  type: ColumnType,
  nullable: z.boolean().default(true),
});
export const DeclaredSchema = z.array(DeclaredColumn).min(1);
export type DeclaredSchema = z.infer<typeof DeclaredSchema>;

const Share = z.number().min(0).max(1);

/** Defects the churn generator injects, each as a share of rows. */
export const ChurnDefects = z.strictObject({
  nulls: Share.default(0),
  outOfRange: Share.default(0),
  /** Turns `tenure_months` into text with some non-numeric values. */
  wrongTypes: Share.default(0),
});
export type ChurnDefects = z.infer<typeof ChurnDefects>;

export const ChurnOptions = z.strictObject({
  rows: z.number().int().min(1).max(100_000_000),
  seed: z.number().int().default(1),
  /** 0 = the reference population; 1 = strongly shifted (shorter tenure, higher charges, more monthly contracts). */
  drift: z.number().min(0).max(1).default(0),
  defects: ChurnDefects.prefault({}),
});
export type ChurnOptions = z.infer<typeof ChurnOptions>;
export type ChurnOptionsInput = z.input<typeof ChurnOptions>;

export const FileSource = z.strictObject({
  path: z.string().min(1),
  /** Inferred from the file name when absent (.csv, .tsv, .parquet, .jsonl/.ndjson, .arrow/.arrows/.feather, optionally .gz for text). */
  format: DataFormat.optional(),
  /** CSV/TSV field delimiter when not the format's default. */
  delimiter: z.string().length(1).optional(),
});

export const IngestInput = z.strictObject({
  source: z.union([FileSource, z.strictObject({ generate: z.literal('churn'), ...ChurnOptions.shape })]),
  /** Enforced when given (names, order and types); inferred from the data otherwise. */
  schema: DeclaredSchema.optional(),
  /** Share of rows that may be malformed and dropped instead of failing the step. */
  maxBadRowShare: Share.default(0),
});
export type IngestInput = z.input<typeof IngestInput>;
export type IngestParams = z.output<typeof IngestInput>;

export const RejectedRow = z.object({ line: z.number().int().positive(), error: z.string() });
export const IngestResult = z.object({
  dataset: DatasetRef,
  /** Whether this call stored the dataset (false: an identical one was already there). */
  created: z.boolean(),
  rejected: z.object({ count: z.number().int().nonnegative(), share: Share, samples: z.array(RejectedRow) }),
});
export type IngestResult = z.infer<typeof IngestResult>;

export const ValidateInput = z.strictObject({
  dataset: DatasetRef,
  suite: ExpectationSuite,
  /** Throw a DataQuality failure when the suite fails (the report is stored either way). */
  failOnError: z.boolean().default(true),
});
export type ValidateInput = z.input<typeof ValidateInput>;

export const ValidateResult = z.object({
  report: ArtifactRef,
  success: z.boolean(),
  failed: z.number().int().nonnegative(),
  summary: z.string(),
});
export type ValidateResult = z.infer<typeof ValidateResult>;

export const ProfileInput = z.strictObject({ dataset: DatasetRef });
export type ProfileInput = z.input<typeof ProfileInput>;

export const FeaturesInput = z.strictObject({
  dataset: DatasetRef,
  /** A query over the view `input`, e.g. `SELECT customer_id, ln(1 + usage_gb) AS log_usage, churned FROM input`. */
  sql: z.string().min(1),
  label: z.string().min(1),
  /** Output columns that are not model inputs (ids, timestamps); the label is excluded anyway. */
  exclude: z.array(z.string().min(1)).default([]),
});
export type FeaturesInput = z.input<typeof FeaturesInput>;

export const FeaturesResult = z.object({
  dataset: DatasetRef,
  /** Exactly what the model sees, in order. */
  features: z.array(Feature),
  label: z.string(),
  schema: ArtifactRef,
});
export type FeaturesResult = z.infer<typeof FeaturesResult>;

export const SplitInput = z
  .strictObject({
    dataset: DatasetRef,
    by: z.string().min(1),
    test: z.number().gt(0).lt(1),
    validation: z.number().min(0).lt(1).default(0),
    /** Column whose classes keep their proportions in every part (usually the label). */
    stratify: z.string().min(1).optional(),
    /** Changes the assignment while keeping it deterministic. */
    salt: z.string().default(''),
  })
  .refine((s) => s.test + s.validation < 1, { message: 'test + validation must leave rows for training', path: ['validation'] });
export type SplitInput = z.input<typeof SplitInput>;

export const SplitResult = z.object({ train: DatasetRef, test: DatasetRef, validation: DatasetRef.optional() });
export type SplitResult = z.infer<typeof SplitResult>;
