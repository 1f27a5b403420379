import { z } from 'zod';
import { ModelRef } from './refs.js';

/**
 * Contracts between the control plane (workflows, CLI) and the serving pool: the desired
 * assignment every pool process converges to, the inputs of the `plumb-serving` control
 * activities, and the per-version metrics report the canary analysis reads.
 */
export const ModelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'expected letters, digits, "_", "." or "-" (at most 128)');

/** Registry versions are numbers; the pool treats them as opaque strings. */
export const ModelVersion = z
  .union([z.number().int().nonnegative(), z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected a version id such as "3"')])
  .transform(String);

export const ServedVersion = z.object({ version: ModelVersion, ref: ModelRef });
export type ServedVersion = z.infer<typeof ServedVersion>;

/**
 * `weight` is the percentage of the model's requests the candidate sees. `live`: it answers them;
 * `shadow`: it scores a copy of them, the stable answer is returned and both are recorded.
 */
export const CandidateRoute = z.object({
  version: ModelVersion,
  weight: z.number().min(0).max(100),
  mode: z.enum(['live', 'shadow']).default('live'),
});
export type CandidateRoute = z.infer<typeof CandidateRoute>;

export const Routing = z.object({ stable: ModelVersion, candidate: CandidateRoute.optional() });
export type Routing = z.infer<typeof Routing>;

export const ModelAssignment = z.object({
  /** Versions kept loaded, whether or not they take routed traffic. */
  versions: z.array(ServedVersion),
  routing: Routing.optional(),
});
export type ModelAssignment = z.infer<typeof ModelAssignment>;

/** The desired state of every pool process; a larger generation supersedes a smaller one. */
export const Assignment = z.object({
  generation: z.number().int().nonnegative(),
  updatedAt: z.iso.datetime(),
  models: z.record(ModelName, ModelAssignment),
});
export type Assignment = z.infer<typeof Assignment>;

export const emptyAssignment = (): Assignment => ({ generation: 0, updatedAt: new Date(0).toISOString(), models: {} });

export const LoadVersionInput = z.object({
  model: ModelName,
  version: ModelVersion,
  ref: ModelRef,
  /** `stable` swaps the version in as the stable one once warm; default: stable only if the model has none. */
  activate: z.enum(['stable', 'none']).optional(),
});
export type LoadVersionInput = z.input<typeof LoadVersionInput>;

export const LoadVersionResult = z.object({
  model: z.string(),
  version: z.string(),
  sha256: z.string(),
  generation: z.number().int(),
  loadMs: z.number(),
  stable: z.string().optional(),
});
export type LoadVersionResult = z.infer<typeof LoadVersionResult>;

export const SetRoutingInput = z.object({ model: ModelName }).extend(Routing.shape);
export type SetRoutingInput = z.input<typeof SetRoutingInput>;

export const UnloadVersionInput = z.object({ model: ModelName, version: ModelVersion });
export type UnloadVersionInput = z.input<typeof UnloadVersionInput>;

/** Takes the model off the pools entirely: every version unloaded, its requests answered 404. */
export const RemoveModelInput = z.object({ model: ModelName });
export type RemoveModelInput = z.input<typeof RemoveModelInput>;

export const AssignmentResult = z.object({ generation: z.number().int(), routing: Routing.optional() });
export type AssignmentResult = z.infer<typeof AssignmentResult>;

export const MetricsReportInput = z
  .object({ model: ModelName, from: z.iso.datetime(), to: z.iso.datetime() })
  .refine((w) => Date.parse(w.from) < Date.parse(w.to), { message: '"from" must be before "to"', path: ['from'] });
export type MetricsReportInput = z.input<typeof MetricsReportInput>;

export const Route = z.enum(['stable', 'candidate', 'shadow', 'direct']);
export type Route = z.infer<typeof Route>;

export const VersionMetrics = z.object({
  version: z.string(),
  requests: z.number().int(),
  errors: z.number().int(),
  errorRate: z.number(),
  /** Requests per route; `shadow` requests were scored but not answered. */
  routes: z.partialRecord(Route, z.number().int()),
  latencyMs: z.object({ p50: z.number(), p90: z.number(), p99: z.number(), mean: z.number() }),
  /**
   * Requests per latency bucket (lib/latency-histogram.ts), for tail comparisons between versions.
   * Absent from reports of pools older than the histogram, which rollouts recorded then replay.
   */
  latencyHistogram: z.record(z.string().regex(/^[0-9]+$/, 'a bucket index'), z.number().int()).optional(),
  /** Rows scored, with the histogram of P(class 1) over 10 equal bins of [0, 1]. */
  rows: z.number().int(),
  predictionHistogram: z.array(z.number().int()).length(10),
});
export type VersionMetrics = z.infer<typeof VersionMetrics>;

export const MetricsReport = z.object({
  model: z.string(),
  from: z.string(),
  to: z.string(),
  /** Pool processes whose statistics are included. */
  pools: z.array(z.string()),
  versions: z.array(VersionMetrics),
});
export type MetricsReport = z.infer<typeof MetricsReport>;
