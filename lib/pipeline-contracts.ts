import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { z } from 'zod';
import { Progress } from './progress.js';

/**
 * What crosses the boundary between the CLI (or a schedule) and a pipeline run. Pure zod, so
 * workflow code can import it too.
 */
export const PipelineRunInput = z.strictObject({
  params: z.record(z.string(), z.unknown()).default({}),
  /** Reuse cached step outputs (default); false recomputes every step of this run. */
  cache: z.boolean().default(true),
  /** Approve at the gate as the user `auto` (unattended runs). */
  autoApprove: z.boolean().default(false),
  /** The serving pools' task queue (from the stack file), for deploying promoted models. */
  servingTaskQueue: z.string().min(1).default('plumb-serving'),
});
export type PipelineRunInput = z.input<typeof PipelineRunInput>;

export const StepStatus = z.enum(['running', 'completed', 'cached', 'failed']);

export const StepRecord = z.object({
  step: z.string(),
  status: StepStatus,
  startedAt: z.string(),
  endedAt: z.string().optional(),
  /** A line for people: "50,000 rows", "ROC AUC 0.91". */
  summary: z.string().optional(),
});
export type StepRecord = z.infer<typeof StepRecord>;

export const PipelineStatus = z.object({
  pipeline: z.string(),
  stage: z.string(),
  steps: z.array(StepRecord),
  progress: Progress.optional(),
});
export type PipelineStatus = z.infer<typeof PipelineStatus>;

/**
 * The search attributes every run carries, so runs can be listed and filtered in the Temporal UI.
 * The stack file must register them (checked when it is loaded).
 */
export const SEARCH_ATTRIBUTES = {
  pipeline: defineSearchAttributeKey('PlumbPipeline', SearchAttributeType.KEYWORD),
  model: defineSearchAttributeKey('PlumbModel', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('PlumbStage', SearchAttributeType.KEYWORD),
  awaitingApproval: defineSearchAttributeKey('PlumbAwaitingApproval', SearchAttributeType.BOOL),
};

export const STATUS_QUERY = 'status';
export const PROGRESS_SIGNAL = 'plumb.progress';
