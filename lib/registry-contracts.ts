import { z } from 'zod';
import { ArtifactRef, DatasetRef, ModelRef, Sha256 } from './refs.js';

/**
 * The model registry's contracts: one entity workflow per model name (`model/<name>`) holds its
 * versions, aliases and production history; changes arrive as Updates, reads as Queries. Pure zod,
 * imported by the registry workflow, the approval gate, registry activities and the CLI.
 */
export const REGISTRY_WORKFLOW_TYPE = 'modelRegistry';
export const registryWorkflowId = (model: string): string => `model/${model}`;

export const MODEL_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;
export const ModelName = z.string().regex(MODEL_NAME, 'expected a model name: a letter, then letters, digits, _ . - (at most 100)');

export const VersionStatus = z.enum(['registered', 'approved', 'rejected', 'production', 'archived']);
export type VersionStatus = z.infer<typeof VersionStatus>;

export const DecisionAction = z.enum(['register', 'approve', 'reject', 'promote', 'rollback', 'archive', 'retire']);
export type DecisionAction = z.infer<typeof DecisionAction>;

const Author = z.string().trim().min(1, 'expected who decides (a non-empty name)').max(200);
const Comment = z.string().max(2000);
const Timestamp = z.iso.datetime();

/** One change of a version's status, with who made it, when and why. */
export const Decision = z.object({
  action: DecisionAction,
  by: Author,
  at: Timestamp,
  comment: Comment.optional(),
});
export type Decision = z.infer<typeof Decision>;

export const HistoryEntry = Decision.extend({ version: z.number().int().positive() });
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const Lineage = z.object({
  /** The pipeline run that produced the version. */
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  pipeline: z.string().min(1).optional(),
  datasets: z.array(DatasetRef).default([]),
});
export type Lineage = z.infer<typeof Lineage>;

export const ModelVersion = z.object({
  version: z.number().int().positive(),
  status: VersionStatus,
  model: ModelRef,
  card: ArtifactRef.optional(),
  /** The ONNX file: the model ref's hash and size, kept flat so listings need not open the ref. */
  sha256: Sha256,
  bytes: z.number().int().positive(),
  lineage: Lineage,
  metrics: z.record(z.string(), z.number()).default({}),
  registeredAt: Timestamp,
  decisions: z.array(Decision),
});
export type ModelVersion = z.infer<typeof ModelVersion>;

/** A period during which one version was production; `to` is absent while it still is. */
export const ProductionPeriod = z.object({
  version: z.number().int().positive(),
  from: Timestamp,
  to: Timestamp.optional(),
});
export type ProductionPeriod = z.infer<typeof ProductionPeriod>;

export const RegistryState = z.object({
  model: ModelName,
  versions: z.array(ModelVersion),
  aliases: z.object({
    production: z.number().int().positive().optional(),
    candidate: z.number().int().positive().optional(),
  }),
  productionHistory: z.array(ProductionPeriod),
  /** Earlier production versions, most recent last: where each rollback goes. */
  rollbackStack: z.array(z.number().int().positive()),
  /** Every decision on every version, in the order made. */
  audit: z.array(HistoryEntry),
});
export type RegistryState = z.infer<typeof RegistryState>;

export const emptyRegistry = (model: string): RegistryState => ({
  model,
  versions: [],
  aliases: {},
  productionHistory: [],
  rollbackStack: [],
  audit: [],
});

export const RegistryWorkflowInput = z.strictObject({
  model: ModelName,
  /** Carried over by continue-as-new. */
  state: RegistryState.optional(),
  /** Continue-as-new once the history has this many events (or when Temporal suggests it). */
  continueAsNewAfterEvents: z.number().int().min(10).default(2000),
});
export type RegistryWorkflowInput = z.input<typeof RegistryWorkflowInput>;

/** A registered version, as a pipeline passes it on to the approval gate and the canary. */
export const VersionRef = z.object({
  model: ModelName,
  version: z.number().int().positive(),
});
export type VersionRef = z.infer<typeof VersionRef>;

export const RegisterInput = z.strictObject({
  model: ModelRef,
  card: ArtifactRef.optional(),
  lineage: Lineage,
  metrics: z.record(z.string(), z.number()).default({}),
  by: Author,
  /** When the version was registered; the registry's own clock when absent. */
  at: Timestamp.optional(),
  comment: Comment.optional(),
});
export type RegisterInput = z.input<typeof RegisterInput>;

export const RegisterResult = VersionRef.extend({
  /** False when this pipeline run had already registered the version (a retried register). */
  created: z.boolean(),
});
export type RegisterResult = z.infer<typeof RegisterResult>;

/**
 * approve, reject, promote and archive of one version. `at` lets a caller retrying the same
 * change (an activity) be recognised: the same action, author and time is applied once.
 */
export const VersionChangeInput = z.strictObject({
  version: z.number().int().positive(),
  by: Author,
  comment: Comment.optional(),
  at: Timestamp.optional(),
});
export type VersionChangeInput = z.input<typeof VersionChangeInput>;

export const RollbackInput = z.strictObject({
  by: Author,
  comment: Comment.optional(),
  at: Timestamp.optional(),
});
export type RollbackInput = z.input<typeof RollbackInput>;

/** Takes the model out of production entirely: the production version is archived, no version is production. */
export const RetireInput = RollbackInput;
export type RetireInput = RollbackInput;

export const VersionSummary = ModelVersion.pick({ version: true, status: true, sha256: true, bytes: true, registeredAt: true, metrics: true }).extend({
  aliases: z.array(z.enum(['production', 'candidate'])),
});
export type VersionSummary = z.infer<typeof VersionSummary>;

export const RegistryListing = z.object({
  model: ModelName,
  aliases: RegistryState.shape.aliases,
  versions: z.array(VersionSummary),
});
export type RegistryListing = z.infer<typeof RegistryListing>;

export const RegistryHistory = z.object({
  model: ModelName,
  /** Every decision on every version, oldest first: the audit trail. */
  decisions: z.array(HistoryEntry),
  productionHistory: z.array(ProductionPeriod),
});
export type RegistryHistory = z.infer<typeof RegistryHistory>;

/** Names of the registry workflow's handlers (Updates change state, Queries read it). */
export const REGISTRY_UPDATES = {
  register: 'register',
  approve: 'approve',
  reject: 'reject',
  promote: 'promote',
  rollback: 'rollback',
  archive: 'archive',
  retire: 'retire',
} as const;

export const REGISTRY_QUERIES = {
  list: 'list',
  get: 'get',
  productionAt: 'productionAt',
  history: 'history',
} as const;

/** What a pipeline's register step sends: lineage (workflow and run id) is taken from the run itself. */
export const RegisterVersionRequest = z.strictObject({
  name: ModelName,
  model: ModelRef,
  card: ArtifactRef.optional(),
  datasets: z.array(DatasetRef).default([]),
  pipeline: z.string().min(1).optional(),
  metrics: z.record(z.string(), z.number()).default({}),
  by: Author.default('plumb'),
  comment: Comment.optional(),
});
export type RegisterVersionRequest = z.input<typeof RegisterVersionRequest>;

export const ModelDecisionRequest = VersionChangeInput.extend({
  model: ModelName,
  action: z.enum(['approve', 'reject', 'promote', 'archive']),
});
export type ModelDecisionRequest = z.input<typeof ModelDecisionRequest>;

export const RollbackRequest = RollbackInput.extend({ model: ModelName });
export type RollbackRequest = z.input<typeof RollbackRequest>;

export const RetireRequest = RetireInput.extend({ model: ModelName });
export type RetireRequest = z.input<typeof RetireRequest>;
