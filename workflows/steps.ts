import { type ActivityInterfaceFor, type ActivityOptions, type RetryPolicy, proxyActivities } from '@temporalio/workflow';
import type { DataActivities } from '../activities/data/data-activities.js';
import type { FeaturesInput, IngestInput, SplitInput, SplitResult } from '../lib/data-steps.js';
import type { ExpectationSuiteInput } from '../lib/expectations.js';
import { failureType } from '../lib/errors.js';
import type { ArtifactRef, DatasetRef, Feature } from '../lib/refs.js';
import { runOptions, runStep } from './pipeline.js';

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
  heartbeatTimeout: '30 seconds',
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

const useCache = (o?: StepOptions) => runOptions().cache && (o?.cache ?? true);
const rows = (n: number) => `${n.toLocaleString('en-US')} rows`;

export interface FeaturesOutput {
  dataset: DatasetRef;
  features: Feature[];
  label: string;
}

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
    const { retry: _r, startToCloseTimeout: _s, heartbeatTimeout: _h, cache: _c, ...split } = o;
    const result = await runStep(
      'split',
      () => activities<DataActivities>(o).split({ dataset, ...split, cache: useCache(o) }),
      (r) => `train ${rows(r.train.rows)}, test ${rows(r.test.rows)}${r.validation ? `, validation ${rows(r.validation.rows)}` : ''}`,
    );
    const { cached: _cached, ...parts } = result;
    return parts;
  },
};
