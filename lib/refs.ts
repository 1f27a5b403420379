import { z } from 'zod';

/**
 * The small typed references that activities exchange instead of data (design principle 2).
 * A ref names an immutable object in the artifact store by its sha256; everything else in it
 * describes the object so that callers can decide without opening it.
 */
export const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256 (64 characters)');
export type Sha256 = z.infer<typeof Sha256>;

/** `artifact://<sha256>`: location-independent, resolved by whichever artifact store is configured. */
export const ArtifactUri = z.string().regex(/^artifact:\/\/[0-9a-f]{64}$/, 'expected artifact://<sha256>');
export const artifactUri = (sha256: string): string => `artifact://${sha256}`;

/** Logical column types, independent of the file format a dataset came from. */
export const ColumnType = z.enum(['boolean', 'integer', 'double', 'string', 'date', 'timestamp']);
export type ColumnType = z.infer<typeof ColumnType>;

export const ColumnSchema = z.object({
  name: z.string().min(1),
  type: ColumnType,
  nullable: z.boolean(),
});
export type ColumnSchema = z.infer<typeof ColumnSchema>;

export const DatasetRef = z.object({
  kind: z.literal('dataset'),
  uri: ArtifactUri,
  sha256: Sha256,
  rows: z.number().int().nonnegative(),
  columns: z.array(ColumnSchema),
  /** Where the data came from, for people: a file name, a generator and its parameters, a step. */
  source: z.string(),
  createdAt: z.iso.datetime(),
});
export type DatasetRef = z.infer<typeof DatasetRef>;

/**
 * A model input. Numeric features enter the ONNX graph as float tensors of shape [N, 1],
 * categorical ones as string tensors of shape [N, 1], one named input per feature, in this order.
 */
export const Feature = z.object({
  name: z.string().min(1),
  type: z.enum(['numeric', 'categorical']),
});
export type Feature = z.infer<typeof Feature>;

/** Output names every plumb classifier exposes: `label` (int64 [N]) and `probabilities` (float [N, 2]). */
export const MODEL_OUTPUTS = { label: 'label', probabilities: 'probabilities' } as const;

export const ModelRef = z.object({
  kind: z.literal('model'),
  uri: ArtifactUri,
  sha256: Sha256,
  bytes: z.number().int().positive(),
  format: z.literal('onnx'),
  features: z.array(Feature).min(1),
  label: z.string().min(1),
  trainer: z.string().min(1),
  createdAt: z.iso.datetime(),
});
export type ModelRef = z.infer<typeof ModelRef>;

/** Any other stored object: reports, profiles, model cards. */
export const ArtifactRef = z.object({
  kind: z.literal('artifact'),
  uri: ArtifactUri,
  sha256: Sha256,
  bytes: z.number().int().nonnegative(),
  mediaType: z.string(),
});
export type ArtifactRef = z.infer<typeof ArtifactRef>;
