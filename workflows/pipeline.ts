import * as wf from '@temporalio/workflow';
import type { z } from 'zod';
import { failureType } from '../lib/errors.js';
import {
  PROGRESS_SIGNAL,
  PipelineRunInput,
  type PipelineStatus,
  SEARCH_ATTRIBUTES,
  STATUS_QUERY,
  type StepRecord,
} from '../lib/pipeline-contracts.js';
import { type Progress, formatProgress } from '../lib/progress.js';
import { formatIssues } from '../lib/zod-issues.js';

/**
 * The pipeline API. A pipeline is a file `pipelines/<name>.ts` whose default export is
 * `definePipeline(...)`; its `run` reads top to bottom as plain async code calling steps, and
 * plumb runs it as the Temporal workflow type `<name>`.
 *
 *   export default definePipeline({
 *     name: 'churn',
 *     description: 'Customer churn classifier',
 *     params: z.object({ rows: z.number().int().positive().default(50_000) }),
 *     async run(p) {
 *       const raw = await step.ingest({ generate: 'churn', rows: p.rows });
 *       ...
 *     },
 *   });
 */
export interface PipelineDefinition<P extends z.ZodType, R> {
  name: string;
  description: string;
  params: P;
  /** The registered model this pipeline produces, when it does. */
  model?: string;
  run: (params: z.output<P>) => Promise<R>;
}

export interface PipelineResult<R> {
  pipeline: string;
  result: R;
  steps: StepRecord[];
}

export interface Pipeline<P extends z.ZodType, R> extends PipelineDefinition<P, R> {
  workflow: (input: PipelineRunInput) => Promise<PipelineResult<R>>;
}

const status: PipelineStatus = { pipeline: '', stage: 'starting', steps: [] };
let options = PipelineRunInput.parse({});

/** The run's options (cache, auto-approve), for steps. */
export const runOptions = () => options;

export const progressSignal = wf.defineSignal<[Progress]>(PROGRESS_SIGNAL);
export const statusQuery = wf.defineQuery<PipelineStatus>(STATUS_QUERY);

export function definePipeline<P extends z.ZodType, R>(def: PipelineDefinition<P, R>): Pipeline<P, R> {
  async function workflow(raw: PipelineRunInput): Promise<PipelineResult<R>> {
    status.pipeline = def.name;
    wf.setHandler(statusQuery, () => status, { description: 'Current stage, finished steps and progress of this run' });
    wf.setHandler(
      progressSignal,
      (p) => {
        status.progress = p;
        showDetails();
      },
      { description: 'Progress reported by the running step (sent by plumb activities)' },
    );
    const input = PipelineRunInput.safeParse(raw);
    if (!input.success) throw badInput(`run options: ${formatIssues(input.error)}`);
    options = input.data;
    const params = def.params.safeParse(options.params);
    if (!params.success) throw badInput(`pipeline ${def.name}: params: ${formatIssues(params.error)}`);

    const result = await def.run(params.data);
    setStage('done');
    return { pipeline: def.name, result, steps: status.steps };
  }
  return { ...def, workflow };
}

/**
 * Runs one step: records it, shows it as the run's stage (search attribute and current details),
 * and marks it completed, or cached when the step says it reused an earlier output.
 */
export async function runStep<T>(name: string, body: () => Promise<T>, summarize?: (result: T) => string): Promise<T> {
  const record: StepRecord = { step: name, status: 'running', startedAt: new Date().toISOString() };
  status.steps.push(record);
  delete status.progress;
  setStage(name);
  try {
    const result = await body();
    record.status = isCached(result) ? 'cached' : 'completed';
    if (summarize) record.summary = summarize(result);
    return result;
  } catch (err) {
    record.status = 'failed';
    throw err;
  } finally {
    record.endedAt = new Date().toISOString();
    showDetails();
  }
}

export function setStage(stage: string): void {
  status.stage = stage;
  wf.upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: stage }]);
  showDetails();
}

function showDetails(): void {
  const mark: Record<StepRecord['status'], string> = { running: '…', completed: '✓', cached: '↺', failed: '✗' };
  const lines = [`**${status.pipeline}** — stage: **${status.stage}**`, ''];
  for (const s of status.steps) lines.push(`- ${mark[s.status]} ${s.step}${s.summary ? ` — ${s.summary}` : ''}`);
  if (status.progress) lines.push('', formatProgress(status.progress));
  wf.setCurrentDetails(lines.join('\n'));
}

function isCached(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { cached?: unknown }).cached === true;
}

function badInput(message: string): wf.ApplicationFailure {
  return wf.ApplicationFailure.nonRetryable(message, failureType('BadInput'));
}
