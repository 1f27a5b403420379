import { ApplicationFailure, type ActivityInterfaceFor, type ActivityOptions, type RetryPolicy, executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { DataActivities } from '../activities/data/data-activities.js';
import type { EvaluateInput, EvaluationResult } from '../activities/evaluate.js';
import type { TrainInput, TrainResult } from '../activities/train.js';
import type { ExternalTrainInput } from '../activities/trainers/external-trainer.js';
import type { TrainingActivities } from '../activities/training-activities.js';
import type { ControlActivities } from '../activities/control-activities.js';
import type { MonitorInputDraft } from '../lib/monitor-contracts.js';
import type { FeaturesInput, IngestInput, SplitInput, SplitResult } from '../lib/data-steps.js';
import type { ExpectationSuiteInput } from '../lib/expectations.js';
import { failureType } from '../lib/errors.js';
import type { ArtifactRef, DatasetRef, Feature, ModelRef } from '../lib/refs.js';
import type { ApprovalDecision, ApprovalOptions } from '../lib/approval-contracts.js';
import type { ModelVersion, RegisterResult, VersionRef } from '../lib/registry-contracts.js';
import { approvalGate } from './approval.js';
import { type DeployResult, deployModel, deployWorkflowId } from './deploy.js';
import { runOptions, runStep } from './pipeline.js';
import type { CanaryActivities } from '../activities/canary-activities.js';
import { type CanaryPolicyInput, type CanaryResult, canaryWorkflowId } from '../lib/canary-contracts.js';
import { canaryRollout } from './canary.js';
import { promoteVersion, registerVersion } from './registry-steps.js';

/**
 * The typed steps a pipeline calls. Each is one activity on the control worker with retries,
 * timeouts, heartbeats and step caching set once here; a pipeline can override them per call.
 * Bad input and failed data checks are non-retryable; infrastructure errors are retried.
 */
export interface StepOptions {
  retry?: RetryPolicy;
  startToCloseTimeout?: ActivityOptions['startToCloseTimeout'];
  heartbeatTimeout?: ActivityOptions['heartbeatTimeout'];
  /** false: always recompute this step (the run's `--no-cache` turns caching off for all). */
  cache?: boolean;
}

const NON_RETRYABLE = ['BadInput', 'DataQuality', 'NotFound', 'Conflict', 'Integrity'].map((k) => failureType(k as never));

const DEFAULTS: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
};

function activities<A>(o: StepOptions = {}): ActivityInterfaceFor<A> {
  return proxyActivities<A>({
    ...DEFAULTS,
    ...(o.startToCloseTimeout ? { startToCloseTimeout: o.startToCloseTimeout } : {}),
    ...(o.heartbeatTimeout ? { heartbeatTimeout: o.heartbeatTimeout } : {}),
    retry: { ...DEFAULTS.retry, ...o.retry, nonRetryableErrorTypes: [...NON_RETRYABLE, ...(o.retry?.nonRetryableErrorTypes ?? [])] },
  });
}

/** A step's own inputs: its options minus the activity options every step takes. */
function inputsOf<T extends StepOptions>(o: T): Omit<T, keyof StepOptions> {
  const { retry: _r, startToCloseTimeout: _s, heartbeatTimeout: _h, cache: _c, ...inputs } = o;
  return inputs;
}

const useCache = (o?: StepOptions) => runOptions().cache && (o?.cache ?? true);
const rows = (n: number) => `${n.toLocaleString('en-US')} rows`;

export interface FeaturesOutput {
  dataset: DatasetRef;
  features: Feature[];
  label: string;
}

/**
 * What `step.canary` did: `direct` when there was no production version to compare with (the
 * version was promoted and deployed at once), otherwise the canary's result.
 */
export type CanaryStepResult =
  | { rollout: 'direct'; outcome: 'promoted'; version: ModelVersion; deployment: DeployResult }
  | { rollout: 'canary'; outcome: CanaryResult['outcome']; canary: CanaryResult };

export const step = {
  /** Reads a file (CSV/TSV, Parquet, JSON lines, Arrow IPC) or generates example data into a stored dataset. */
  async ingest(source: IngestInput['source'], o?: StepOptions & Omit<IngestInput, 'source'>): Promise<DatasetRef> {
    const { schema, maxBadRowShare } = o ?? {};
    const result = await runStep(
      'ingest',
      () => activities<DataActivities>(o).ingest({ source, schema, maxBadRowShare, cache: useCache(o) }),
      (r) => `${rows(r.dataset.rows)}, ${r.dataset.columns.length} columns${r.rejected.count ? `, ${r.rejected.count} rejected` : ''}`,
    );
    return result.dataset;
  },

  /** Runs an expectation suite; a failed suite stops the run with its report. */
  async validate(dataset: DatasetRef, suite: ExpectationSuiteInput, o?: StepOptions): Promise<ArtifactRef> {
    const result = await runStep(
      'validate',
      () => activities<DataActivities>(o).validate({ dataset, suite, cache: useCache(o) }),
      (r) => r.summary,
    );
    return result.report;
  },

  /** Per-column statistics, stored beside the dataset; later the reference for drift. */
  async profile(dataset: DatasetRef, o?: StepOptions): Promise<ArtifactRef> {
    return runStep('profile', () => activities<DataActivities>(o).profile({ dataset, cache: useCache(o) }), () => `${dataset.columns.length} columns profiled`);
  },

  /** SQL over the view `input`; records the exact feature schema the model will see. */
  async features(dataset: DatasetRef, sql: string, o: StepOptions & Omit<FeaturesInput, 'dataset' | 'sql'>): Promise<FeaturesOutput> {
    const { label, exclude } = o;
    const result = await runStep(
      'features',
      () => activities<DataActivities>(o).features({ dataset, sql, label, exclude, cache: useCache(o) }),
      (r) => `${r.features.length} features`,
    );
    return { dataset: result.dataset, features: result.features, label: result.label };
  },

  /** Deterministic split by hashing an id column: the same row lands in the same part on every run. */
  async split(dataset: DatasetRef, o: StepOptions & Omit<SplitInput, 'dataset'>): Promise<SplitResult> {
    const split = inputsOf(o);
    const result = await runStep(
      'split',
      () => activities<DataActivities>(o).split({ dataset, ...split, cache: useCache(o) }),
      (r) => `train ${rows(r.train.rows)}, test ${rows(r.test.rows)}${r.validation ? `, validation ${rows(r.validation.rows)}` : ''}`,
    );
    const { cached: _cached, ...parts } = result;
    return parts;
  },

  /** Trains a built-in model (`gbdt`, `logreg`) and stores model.onnx and its model card. */
  async train(dataset: DatasetRef, o: StepOptions & Omit<TrainInput, 'dataset'> & { name?: string }): Promise<TrainResult> {
    const { name, ...train } = inputsOf(o);
    const result = await runStep(
      name ?? `train ${o.trainer}`,
      () => activities<TrainingActivities>(o).train({ dataset, ...train, cache: useCache(o) }),
      (r) => `${r.model.trainer}, ${(r.model.bytes / 1024).toFixed(0)} KiB ONNX`,
    );
    const { cached: _cached, ...trained } = result;
    return trained;
  },

  /** Runs a trainer command in any language under the external-trainer contract (docs/training.md). */
  async trainExternal(train: DatasetRef, o: StepOptions & Omit<ExternalTrainInput, 'train'> & { name?: string }): Promise<TrainResult> {
    const { name, ...rest } = inputsOf(o);
    return runStep(
      name ?? `train ${o.trainerName ?? 'external'}`,
      () => activities<TrainingActivities>(o).trainExternal({ train, ...rest }),
      (r) => `${r.model.trainer}, ${(r.model.bytes / 1024).toFixed(0)} KiB ONNX`,
    );
  },

  /**
   * Scores the model with onnxruntime on the test set, checks the gate and, given a champion,
   * compares on the same data. A failed gate stops the run (a non-retryable PlumbQualityGate
   * failure listing the reasons) unless `stopOnFailure: false`.
   */
  async evaluate(
    model: ModelRef,
    dataset: DatasetRef,
    o: StepOptions & Omit<EvaluateInput, 'model' | 'dataset'> & { name?: string; stopOnFailure?: boolean } = {},
  ): Promise<EvaluationResult> {
    const { name, stopOnFailure = true, ...evaluate } = inputsOf(o);
    const result = await runStep(
      name ?? 'evaluate',
      () => activities<TrainingActivities>(o).evaluate({ model, dataset, ...evaluate, cache: useCache(o) }),
      (r) => `ROC AUC ${r.metrics.rocAuc.toFixed(4)}, F1 ${r.metrics.f1.toFixed(4)} — ${r.passed ? 'gate passed' : 'gate failed'}`,
    );
    const { cached: _cached, ...evaluation } = result;
    if (!evaluation.passed && stopOnFailure) {
      const failed = evaluation.reasons.filter((r) => !r.passed).map((r) => r.message);
      throw ApplicationFailure.nonRetryable(`quality gate failed: ${failed.join('; ')}`, 'PlumbQualityGate', evaluation);
    }
    return evaluation;
  },

  /** Registers the trained model as a new version of `name`, with its card, metrics and lineage (this run). */
  async register(name: string, trained: TrainResult, evaluation: EvaluationResult, datasets: DatasetRef[]): Promise<RegisterResult> {
    const metrics = Object.fromEntries(
      Object.entries(evaluation.metrics).filter((e): e is [string, number] => typeof e[1] === 'number'),
    );
    return runStep(
      'register',
      () => registerVersion({ name, model: trained.model, card: trained.card, datasets, pipeline: workflowInfo().workflowType, metrics }),
      (r) => `${r.model} v${r.version}${r.created ? '' : ' (already registered by this run)'}`,
    );
  },

  /**
   * Waits for a person on `approvers` to approve or reject (Update or Signal `approve`/`reject`
   * with `{ "by": …, "comment": … }`, from the Temporal UI or `plumb approve`). Survives restarts
   * of every process and can last days; `--auto-approve` approves at once as `auto`.
   */
  async approval(version: VersionRef, o: Omit<ApprovalOptions, 'approvers'> & { approvers: string[] }): Promise<ApprovalDecision> {
    return runStep('approval', () => approvalGate(version, o), (d) => `${d.approved ? 'approved' : 'rejected'} by ${d.by}${d.comment ? `: ${d.comment}` : ''}`);
  },

  /** Makes an approved version production in the registry, then serves it on every pool. */
  async promote(version: VersionRef, by: string, comment?: string): Promise<{ version: ModelVersion; deployment: DeployResult }> {
    const promoted = await runStep('promote', () => promoteVersion(version, by, comment), (v) => `${version.model} v${v.version} is production`);
    const deployment = await runStep(
      'deploy',
      () =>
        executeChild(deployModel, {
          workflowId: deployWorkflowId(version.model, version.version, workflowInfo().workflowId),
          args: [{ model: version.model, version: version.version, ref: promoted.model, servingTaskQueue: runOptions().servingTaskQueue }],
        }),
      (d) => `${d.model} v${d.version} serves all traffic`,
    );
    return { version: promoted, deployment };
  },

  /**
   * Schedules drift monitoring of a production version (the Temporal Schedule `monitor/<model>`,
   * every window): sustained drift starts `retrain`, at most one run at a time (docs/monitoring.md).
   * The plan is stored with the version, so the schedule follows production when a rollback or a
   * promotion outside this run brings the version back; call it after `step.promote`.
   */
  async monitor(monitor: MonitorInputDraft, o?: StepOptions & { everySeconds?: number }): Promise<{ id: string }> {
    return runStep(
      'monitor',
      () => activities<ControlActivities>(o).scheduleMonitoring({ monitor, ...(o?.everySeconds ? { everySeconds: o.everySeconds } : {}) }),
      (s) => `schedule ${s.id} for v${monitor.version}, every ${s.everySeconds ?? monitor.windowMinutes * 60} s`,
    );
  },

  /**
   * Rolls an approved version out by canary (child workflow `canary/<model>/v<version>`, see
   * workflows/canary.ts) against the production version the pools serve; a model's first version
   * has nothing to compare with and is promoted directly. A rolled-back candidate is not an error:
   * check `outcome`.
   *
   *   const rollout = await step.canary(version, { steps: [10, 50, 100], interval: '10 minutes' });
   *   if (rollout.outcome !== 'promoted') return { rolledBack: rollout.rollout === 'canary' ? rollout.canary.reason : '' };
   */
  async canary(version: VersionRef, policy: CanaryPolicyInput = {}, o?: StepOptions): Promise<CanaryStepResult> {
    const target = await activities<CanaryActivities>(o).canaryTarget(version);
    if (target.production === undefined || target.production === version.version) {
      const promoted = await step.promote(version, 'canary', 'first production version: nothing to compare a canary with');
      return { rollout: 'direct', outcome: 'promoted', ...promoted };
    }
    const stable = target.production;
    const canary = await runStep(
      'canary',
      () =>
        executeChild(canaryRollout, {
          workflowId: canaryWorkflowId(version.model, version.version),
          args: [{ model: version.model, candidate: { version: version.version, ref: target.candidate }, stable, policy, servingTaskQueue: runOptions().servingTaskQueue }],
        }),
      (r) => `${r.outcome}: ${r.reason}`,
    );
    return { rollout: 'canary', outcome: canary.outcome, canary };
  },
};
