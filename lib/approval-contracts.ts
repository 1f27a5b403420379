import { msToNumber } from '@temporalio/common/lib/time.js';
import { z } from 'zod';
import { ModelName } from './registry-contracts.js';

/**
 * The approval gate's contracts: what an approver sends (from the Temporal UI as a Signal, from the
 * CLI as an Update) and what the gate shows and returns. Pure, imported by workflows and the CLI.
 */
export const APPROVAL_HANDLERS = { approve: 'approve', reject: 'reject', state: 'approval' } as const;

/** A duration as Temporal reads it: "3 days", "90m", "1h", or milliseconds. */
export const Duration = z.union([z.number().int().positive(), z.string().min(1)]).refine(
  (d) => {
    try {
      return msToNumber(d as Parameters<typeof msToNumber>[0]) > 0;
    } catch {
      return false;
    }
  },
  { message: 'expected a duration such as "3 days", "90 minutes", "1h" or a number of milliseconds' },
);
export type Duration = z.infer<typeof Duration>;

export const durationMs = (d: Duration): number => msToNumber(d as Parameters<typeof msToNumber>[0]);

export const ApprovalOptions = z.strictObject({
  /** Who may decide; a decision from anyone else is refused (Update) or ignored (Signal). */
  approvers: z.array(z.string().trim().min(1)).min(1, 'expected at least one approver'),
  /** With no decision by then the version is rejected, the reason recorded. */
  timeout: Duration.optional(),
  /** How often to remind (a log line and the run's current details) while waiting. */
  reminderEvery: Duration.optional(),
});
export type ApprovalOptions = z.input<typeof ApprovalOptions>;

/** The payload of `approve` and `reject`, e.g. {"by": "ana", "comment": "metrics look good"}. */
export const ApprovalPayload = z.strictObject({
  by: z.string().trim().min(1, 'expected who decides in "by"'),
  comment: z.string().max(2000).optional(),
  /** When given, must be the version waiting at the gate (guards against approving the wrong one). */
  version: z.number().int().positive().optional(),
});
export type ApprovalPayload = z.input<typeof ApprovalPayload>;

export const ApprovalVia = z.enum(['update', 'signal', 'timeout', 'auto']);

export const ApprovalDecision = z.object({
  approved: z.boolean(),
  by: z.string(),
  comment: z.string().optional(),
  at: z.iso.datetime(),
  via: ApprovalVia,
});
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

export const IgnoredDecision = z.object({
  action: z.enum(['approve', 'reject']),
  payload: z.unknown(),
  at: z.iso.datetime(),
  reason: z.string(),
});

export const ApprovalState = z.object({
  model: ModelName,
  version: z.number().int().positive(),
  approvers: z.array(z.string()),
  waitingSince: z.iso.datetime(),
  deadline: z.iso.datetime().optional(),
  reminders: z.number().int().nonnegative(),
  decision: ApprovalDecision.optional(),
  /** True once the decision is recorded in the model's registry. */
  recorded: z.boolean(),
  /** Signals that were not taken into account, and why. */
  ignored: z.array(IgnoredDecision),
});
export type ApprovalState = z.infer<typeof ApprovalState>;
