import { z } from 'zod';
import { AlertState } from './alerts.js';
import { DriftThresholds, ParquetSource, PredictionColumn } from './drift-contracts.js';
import { PerformanceThresholds } from './metrics/windowed-performance.js';
import { ArtifactRef, DatasetRef, Feature } from './refs.js';

/**
 * The monitor loop's contracts: what a scheduled `monitorModel` run is given (what the registry
 * knows about the production version), the per-model state carried between runs, and the names
 * (schedule id, retraining workflow id, store keys) every part agrees on. Pure zod, so workflow
 * code imports it too.
 */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export const MonitorInput = z.strictObject({
  model: z.string().regex(MODEL_NAME, 'letters, digits, _ . - (it becomes part of ids and store keys)'),
  version: z.string().min(1),
  /** The production version's training data: the drift reference. */
  reference: DatasetRef,
  features: z.array(Feature).min(1),
  /** Model outputs checked for drift too, with where their reference distribution is. */
  predictions: z
    .strictObject({ columns: z.array(PredictionColumn).min(1), reference: z.union([ParquetSource, DatasetRef]).optional() })
    .optional(),
  /** Each run checks the predictions of the last `windowMinutes` before it was scheduled. */
  windowMinutes: z.number().int().positive(),
  thresholds: DriftThresholds.prefault({}),
  /** K: this many drifted windows in a row start retraining (windows without predictions do not count or break it). */
  sustainedWindows: z.number().int().positive().default(3),
  /** Delayed labels: when set, each run also judges accuracy / AUC / calibration over the window. */
  performance: z
    .strictObject({
      groundTruth: ParquetSource,
      key: z.strictObject({ predictions: z.string().min(1), groundTruth: z.string().min(1) }).prefault({ predictions: 'requestId', groundTruth: 'requestId' }),
      labelColumn: z.string().min(1).default('label'),
      thresholds: PerformanceThresholds.prefault({}),
    })
    .optional(),
  /** The pipeline run started on sustained drift or a performance breach, as `plumb run` would. */
  retrain: z.strictObject({
    pipeline: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a pipeline name'),
    params: z.record(z.string(), z.unknown()).default({}),
  }),
  alertRepeatMinutes: z.number().int().positive().default(360),
});
export type MonitorInput = z.infer<typeof MonitorInput>;
export type MonitorInputDraft = z.input<typeof MonitorInput>;

export const RetrainingRecord = z.object({
  workflowId: z.string(),
  runId: z.string(),
  /** false when a retraining run was already going and this request attached to it. */
  started: z.boolean(),
  reason: z.string(),
  at: z.iso.datetime(),
});
export type RetrainingRecord = z.infer<typeof RetrainingRecord>;

export const WindowRecord = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  rows: z.number().int().nonnegative(),
  /** Absent when the window had no predictions (no verdict). */
  drifted: z.boolean().optional(),
  share: z.number().optional(),
  driftedFeatures: z.array(z.string()).default([]),
  performanceBreaches: z.array(z.string()).default([]),
  report: ArtifactRef.optional(),
});
export type WindowRecord = z.infer<typeof WindowRecord>;

/** What one model's monitor remembers between scheduled runs (a named JSON in the artifact store). */
export const MonitorState = z.object({
  model: z.string(),
  /** The version being watched; a new production version starts a fresh state. */
  version: z.string(),
  /** Drifted windows in a row since the last healthy window or the last retraining request. */
  streak: z.number().int().nonnegative(),
  alerts: AlertState,
  lastReport: ArtifactRef.optional(),
  lastRetraining: RetrainingRecord.optional(),
  /** The most recent windows, newest last (at most `MONITOR_HISTORY`). */
  windows: z.array(WindowRecord),
});
export type MonitorState = z.infer<typeof MonitorState>;
export const MONITOR_HISTORY = 48;

export const freshMonitorState = (model: string, version: string): MonitorState => ({
  model,
  version,
  streak: 0,
  alerts: { active: {} },
  windows: [],
});

/** A run that checked its window. */
export const MonitorCheckResult = z.object({
  model: z.string(),
  window: WindowRecord,
  streak: z.number().int(),
  alertsSent: z.array(z.string()),
  retraining: RetrainingRecord.optional(),
});
export type MonitorCheckResult = z.infer<typeof MonitorCheckResult>;

/** A run that checked nothing: the version it was scheduled for no longer serves production. */
export const MonitorSkipResult = z.object({
  model: z.string(),
  version: z.string(),
  skipped: z.string(),
});
export type MonitorSkipResult = z.infer<typeof MonitorSkipResult>;

export const MonitorRunResult = z.union([MonitorCheckResult, MonitorSkipResult]);
export type MonitorRunResult = z.infer<typeof MonitorRunResult>;

/**
 * What `step.monitor` asked for a production version, kept per version in the store
 * (`monitorPlanKey`), so that when production moves without a pipeline (`plumb rollback`,
 * `plumb promote`) the schedule can be pointed at the new version's own plan.
 */
export const MonitorPlan = z.strictObject({
  monitor: MonitorInput,
  /** Seconds between checks; the window length by default. */
  everySeconds: z.number().int().positive().optional(),
});
export type MonitorPlan = z.infer<typeof MonitorPlan>;
export type MonitorPlanDraft = z.input<typeof MonitorPlan>;

/** What became of the monitor Schedule when production moved to `version` (see `followProduction`). */
export const MonitorFollowResult = z.object({
  model: z.string(),
  version: z.string(),
  scheduleId: z.string(),
  /** updated: it now watches `version`; removed: it watched another version and is gone; absent: there was none and is none. */
  schedule: z.enum(['updated', 'removed', 'absent']),
  reason: z.string(),
});
export type MonitorFollowResult = z.infer<typeof MonitorFollowResult>;

/** The Temporal Schedule that runs `monitorModel` for a model. */
export const monitorScheduleId = (model: string) => `monitor/${model}`;
/** The one retraining run per model: its fixed workflow id is what prevents duplicates. */
export const retrainWorkflowId = (model: string) => `retrain/${model}`;
/** Named store keys: the state, a copy of the latest report under a `.html` name, and each version's plan. */
export const monitorStateKey = (model: string) => `monitor/${model}/state.json`;
export const monitorReportKey = (model: string) => `monitor/${model}/latest-report.html`;
/** The monitor plan of one version, written by `step.monitor`, read when that version becomes production again. */
export const monitorPlanKey = (model: string, version: string | number) => `monitor/${model}/v${version}/input.json`;
export const MONITOR_WORKFLOW = 'monitorModel';
