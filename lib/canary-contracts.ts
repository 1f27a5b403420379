import { z } from 'zod';
import { Duration } from './approval-contracts.js';
import { ModelRef } from './refs.js';
import { ModelName } from './serving.js';

/**
 * The canary rollout's contracts: the policy (with documented defaults), the analysis of one step,
 * the workflow's input, state and result, and the names of its handlers. Pure, imported by the
 * workflow, the CLI and tests.
 */
export const CANARY_HANDLERS = {
  pause: 'pause',
  resume: 'resume',
  abort: 'abort',
  promoteNow: 'promoteNow',
  analyses: 'analyses',
  state: 'canaryState',
} as const;

/** Metrics are kept in 10 s buckets on each pool process (docs/serving.md); a report covers whole buckets. */
export const METRICS_BUCKET_MS = 10_000;
/** A window is complete only once its end is one bucket in the past. */
export const METRICS_SETTLE_MS = METRICS_BUCKET_MS;

export const CanaryThresholds = z.strictObject({
  /** Candidate error rate minus stable error rate above this fails the step. Default 0.01 (1 point). */
  maxErrorRateDelta: z.number().min(0).max(1).default(0.01),
  /** Candidate p99 latency over stable p99 above this fails the step. Default 1.5. */
  maxP99Ratio: z.number().min(1).default(1.5),
  /**
   * A p99 ratio breach counts only if the candidate is also this many milliseconds slower: at
   * sub-millisecond latencies scheduling noise alone doubles a p99. Default 5 ms.
   */
  p99SlackMs: z.number().min(0).default(5),
  /** PSI of the candidate's P(class 1) histogram against the stable one, beyond sampling noise, above this fails the step. Default 0.2. */
  maxPredictionPsi: z.number().positive().default(0.2),
});
export type CanaryThresholds = z.infer<typeof CanaryThresholds>;

export const ShadowPhase = z.strictObject({
  /** How long the candidate scores a copy of the traffic (answers still come from stable). */
  duration: Duration,
  /** Percentage of requests copied to the candidate. Default 100. */
  weight: z.number().gt(0).max(100).default(100),
});

export const CanaryPolicy = z
  .strictObject({
    /** Candidate traffic percentages, ascending, ending at 100. Default [5, 25, 50, 100]. */
    steps: z
      .array(z.number().gt(0).max(100))
      .min(1)
      .default([5, 25, 50, 100])
      .refine((s) => s.every((w, i) => i === 0 || w > s[i - 1]!), { message: 'expected strictly ascending percentages' })
      .refine((s) => s[s.length - 1] === 100, { message: 'the last step must be 100' }),
    /** How long each step takes traffic before it is analysed. Default "5 minutes". */
    interval: Duration.default('5 minutes'),
    /** Candidate requests a step needs before it can be judged; fewer is inconclusive. Default 100. */
    minRequests: z.number().int().min(1).default(100),
    /** How much longer an inconclusive step may wait for requests before the rollout fails. Default "30 minutes". */
    maxWaitForRequests: Duration.default('30 minutes'),
    thresholds: CanaryThresholds.default(CanaryThresholds.parse({})),
    /** Failed analyses tolerated (each one re-analyses the same step) before rolling back. Default 0. */
    toleratedFailures: z.number().int().min(0).default(0),
    /** A shadow phase before any live traffic; none by default. */
    shadow: ShadowPhase.optional(),
  });
export type CanaryPolicy = z.infer<typeof CanaryPolicy>;
export type CanaryPolicyInput = z.input<typeof CanaryPolicy>;

export const CanaryInput = z.strictObject({
  model: ModelName,
  /** The registry version to roll out and its model file. */
  candidate: z.strictObject({ version: z.number().int().positive(), ref: ModelRef }),
  /** The registry's production version, which the pools serve as stable now. */
  stable: z.number().int().positive(),
  policy: CanaryPolicy.default(CanaryPolicy.parse({})),
  servingTaskQueue: z.string().min(1).default('plumb-serving'),
});
export type CanaryInput = z.input<typeof CanaryInput>;

export const Verdict = z.enum(['pass', 'fail', 'inconclusive']);
export type Verdict = z.infer<typeof Verdict>;

export const VersionSummary = z.object({
  version: z.string(),
  requests: z.number().int(),
  errorRate: z.number(),
  p99Ms: z.number(),
  rows: z.number().int(),
});
export type VersionSummary = z.infer<typeof VersionSummary>;

export const CanaryAnalysis = z.object({
  phase: z.enum(['shadow', 'live']),
  /** Index into the policy's steps (-1: the shadow phase). */
  step: z.number().int(),
  weight: z.number(),
  from: z.string(),
  to: z.string(),
  candidate: VersionSummary,
  stable: VersionSummary,
  /** From an earlier window when the stable version had too few requests in this one (at 100 %). */
  stableFrom: z.string().optional(),
  errorRateDelta: z.number().optional(),
  p99Ratio: z.number().optional(),
  /** χ² test of the shares of each version's requests slower than the stable p99 (1 when the candidate's is not larger). */
  latencyPValue: z.number().optional(),
  predictionPsi: z.number().optional(),
  /** The part of `predictionPsi` expected from sampling alone; the threshold applies to the rest. */
  psiNoise: z.number().optional(),
  /** χ² test of the two prediction histograms: how likely a difference this large is by chance. */
  psiPValue: z.number().optional(),
  verdict: Verdict,
  reason: z.string(),
  /** Which check failed, for a failed verdict. */
  failedCheck: z.enum(['errorRate', 'latency', 'predictionShift', 'traffic']).optional(),
});
export type CanaryAnalysis = z.infer<typeof CanaryAnalysis>;

export const CanaryOutcome = z.enum(['promoted', 'rolledBack', 'aborted']);
export type CanaryOutcome = z.infer<typeof CanaryOutcome>;

export const CanaryStatus = z.enum(['running', 'paused', 'promoting', 'rollingBack', 'promoted', 'rolledBack', 'aborted']);

export const CanaryState = z.object({
  model: z.string(),
  candidate: z.string(),
  stable: z.string(),
  status: CanaryStatus,
  phase: z.enum(['shadow', 'live']),
  step: z.number().int(),
  weight: z.number(),
  failures: z.number().int(),
  analyses: z.array(CanaryAnalysis),
  /** When the current step is analysed next (ISO time); absent once the rollout has ended. */
  nextAnalysisAt: z.string().optional(),
  /** The last manual action (pause, resume, abort, promoteNow), who and why. */
  lastAction: z.object({ action: z.string(), by: z.string(), reason: z.string().optional(), at: z.string() }).optional(),
});
export type CanaryState = z.infer<typeof CanaryState>;

export const CanaryResult = z.object({
  model: z.string(),
  candidate: z.string(),
  stable: z.string(),
  outcome: CanaryOutcome,
  reason: z.string(),
  /** The version serving all traffic at the end. */
  serving: z.string(),
  analyses: z.array(CanaryAnalysis),
});
export type CanaryResult = z.infer<typeof CanaryResult>;

/** What a manual control carries: who, and optionally why. */
export const CanaryControl = z.strictObject({ by: z.string().trim().min(1), reason: z.string().optional() });
export type CanaryControl = z.infer<typeof CanaryControl>;

export const canaryWorkflowId = (model: string, version: number | string) => `canary/${model}/v${version}`;
