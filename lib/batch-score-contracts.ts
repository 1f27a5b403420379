import { z } from 'zod';
import { FileSource } from './data-steps.js';
import { DatasetRef, ModelRef } from './refs.js';
import { ModelName } from './registry-contracts.js';

/**
 * Contracts of batch scoring (workflows/batch-score.ts): the workflow input, and what its control
 * activities (resolve, prepare, assemble) and serving activity (score one chunk) exchange.
 */
export const BATCH_SCORE_WORKFLOW = 'batchScore';

/** Column names the output adds after the id columns. */
export const SCORE_COLUMNS = { label: 'label', probability: 'probability', version: 'model_version', scoredAt: 'scored_at' } as const;

/** Row number column of the validated input: chunks are ranges of it. */
export const ROW_COLUMN = '__row';

export const BatchScoreInput = z.strictObject({
  input: z.union([DatasetRef, FileSource]),
  model: ModelName,
  /** A registered version number, or the `production` alias (the default). */
  version: z.union([z.number().int().positive(), z.literal('production')]).default('production'),
  idColumns: z.array(z.string().min(1)).min(1),
  /** Also write the output Parquet to this local path. */
  out: z.string().min(1).optional(),
  chunkRows: z.number().int().positive().default(100_000),
  parallelism: z.number().int().positive().max(64).default(2),
  /** Fail when more than this share of the rows fail validation against the model's features. */
  maxRejectShare: z.number().min(0).max(1).default(0.01),
  servingTaskQueue: z.string().min(1).default('plumb-serving'),
  /** The scored-at value written on every row; default the run's start time, so retries write identical output. */
  scoredAt: z.iso.datetime().optional(),
  /** Chunks scored per workflow run before it continues as new (keeps histories small). */
  chunksPerRun: z.number().int().positive().default(200),
});
export type BatchScoreInput = z.input<typeof BatchScoreInput>;
export type BatchScoreParams = z.output<typeof BatchScoreInput>;

export const ResolveModelInput = z.strictObject({
  model: ModelName,
  version: z.union([z.number().int().positive(), z.literal('production')]),
});
export type ResolveModelInput = z.input<typeof ResolveModelInput>;

export const ResolvedModel = z.object({ model: ModelName, version: z.number().int().positive(), ref: ModelRef });
export type ResolvedModel = z.infer<typeof ResolvedModel>;

export const PrepareScoringInput = z.strictObject({
  input: z.union([DatasetRef, FileSource]),
  model: ModelRef,
  idColumns: z.array(z.string().min(1)).min(1),
  maxRejectShare: z.number().min(0).max(1),
  chunkRows: z.number().int().positive(),
});
export type PrepareScoringInput = z.input<typeof PrepareScoringInput>;

export const PreparedScoring = z.object({
  /** The rows that passed validation: id columns, features and a 0-based row number. */
  valid: DatasetRef,
  /** Rows that failed, with their id columns and a `reason`; absent when none failed. */
  rejects: DatasetRef.optional(),
  inputRows: z.number().int().nonnegative(),
  rejectedRows: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
});
export type PreparedScoring = z.infer<typeof PreparedScoring>;

export const ScoreChunkInput = z.strictObject({
  model: ResolvedModel,
  valid: DatasetRef,
  idColumns: z.array(z.string().min(1)).min(1),
  chunk: z.number().int().nonnegative(),
  chunkRows: z.number().int().positive(),
  scoredAt: z.iso.datetime(),
});
export type ScoreChunkInput = z.input<typeof ScoreChunkInput>;

export const ScoredPart = z.object({ chunk: z.number().int().nonnegative(), sha256: z.string(), rows: z.number().int().nonnegative() });
export type ScoredPart = z.infer<typeof ScoredPart>;

export const AssembleScoresInput = z.strictObject({
  parts: z.array(ScoredPart),
  out: z.string().min(1).optional(),
  source: z.string(),
});
export type AssembleScoresInput = z.input<typeof AssembleScoresInput>;

export const BatchScoreResult = z.object({
  output: DatasetRef,
  out: z.string().optional(),
  rejects: DatasetRef.optional(),
  model: z.string(),
  version: z.number().int().positive(),
  rows: z.object({ input: z.number().int(), scored: z.number().int(), rejected: z.number().int() }),
  chunks: z.number().int().nonnegative(),
});
export type BatchScoreResult = z.infer<typeof BatchScoreResult>;

/** What the workflow carries across continue-as-new. */
export interface BatchScoreState {
  model: ResolvedModel;
  prepared: PreparedScoring;
  scoredAt: string;
  parts: ScoredPart[];
}

/** Query name for a run's progress. */
export const BATCH_PROGRESS_QUERY = 'batchProgress';
export interface BatchProgress {
  stage: 'preparing' | 'scoring' | 'assembling' | 'done';
  chunksDone: number;
  chunksTotal: number;
  rowsDone: number;
  rowsTotal: number;
}
