import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleHandle,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleSummary,
} from '@temporalio/client';
import { BATCH_SCORE_WORKFLOW, BatchScoreInput } from './batch-score-contracts.js';
import type { StackConfig } from './config.js';
import { PlumbError, badInput, notFound } from './errors.js';
import { MONITOR_WORKFLOW, MonitorInput, type MonitorInputDraft, monitorScheduleId } from './monitor-contracts.js';
import { SEARCH_ATTRIBUTES } from './pipeline-contracts.js';
import { formatIssues } from './zod-issues.js';

/**
 * plumb's Temporal Schedules: nightly (cron) pipeline runs, and the per-model monitor. Every
 * schedule skips an action while the previous one still runs (overlap policy SKIP) and has an
 * explicit catch-up window, so an outage replays at most the actions still worth taking. Each
 * carries a `plumb` memo (kind, what it runs, its task queue) that `listSchedules` reads back.
 */
export interface ScheduleMemo {
  kind: 'pipeline' | 'monitor' | 'score';
  taskQueue: string;
  /** The pipeline run, or the monitored model. */
  target: string;
  cron?: string;
  params?: Record<string, unknown>;
}

export interface ScheduleInfo {
  id: string;
  kind: 'pipeline' | 'monitor' | 'score';
  workflowType: string;
  target: string;
  cron?: string;
  everySeconds?: number;
  params?: Record<string, unknown>;
  paused: boolean;
  note?: string;
  nextRuns: string[];
  recentRuns: { scheduledAt: string; workflowId: string; runId: string }[];
}

export interface PipelineScheduleOptions {
  pipeline: string;
  /** Standard 5-field cron, evaluated in `timezone` (UTC by default). */
  cron: string;
  /** Already checked against the pipeline's params schema (the CLI does, via `parseParams`). */
  params: Record<string, unknown>;
  /** Schedule id; default `<pipeline>-schedule`. */
  id?: string;
  timezone?: string;
  /** Missed runs (Temporal unreachable) up to this old are still taken, once. Default 60. */
  catchupMinutes?: number;
}

const CRON = /^\S+(\s+\S+){4}$/;
const SCHEDULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.\/=-]*$/;

/**
 * Creates a Schedule that starts `pipeline` on `cron`, as `plumb run` would (same task queue,
 * input and search attributes). An existing id is a Conflict: delete it first.
 *
 *   await createPipelineSchedule(client, config, { pipeline: 'churn', cron: '0 2 * * *', params: { rows: 100000 } });
 */
export async function createPipelineSchedule(client: Client, config: StackConfig, o: PipelineScheduleOptions): Promise<ScheduleInfo> {
  if (!CRON.test(o.cron.trim())) throw badInput(`--cron "${o.cron}": expected 5 fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *"`);
  const id = o.id ?? `${o.pipeline}-schedule`;
  if (!SCHEDULE_ID.test(id)) throw badInput(`--id "${id}": use letters, digits and _ . / = -`);
  const catchupMinutes = o.catchupMinutes ?? 60;
  if (!Number.isInteger(catchupMinutes) || catchupMinutes < 1) throw badInput(`--catchup-minutes ${catchupMinutes}: expected a whole number ≥ 1`);
  const memo: ScheduleMemo = { kind: 'pipeline', taskQueue: config.taskQueues.control, target: o.pipeline, cron: o.cron.trim(), params: o.params };
  try {
    const handle = await client.schedule.create({
      scheduleId: id,
      spec: { cronExpressions: [o.cron.trim()], ...(o.timezone ? { timezone: o.timezone } : {}) },
      action: {
        type: 'startWorkflow',
        workflowType: o.pipeline,
        workflowId: `${o.pipeline}-scheduled`,
        taskQueue: config.taskQueues.control,
        args: [{ params: o.params, cache: true, autoApprove: false, servingTaskQueue: config.taskQueues.serving }],
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.pipeline, value: o.pipeline },
          { key: SEARCH_ATTRIBUTES.stage, value: 'starting' },
        ],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${catchupMinutes} minutes` },
      memo: { plumb: memo },
    });
    return describeSchedule(handle);
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) throw new PlumbError('Conflict', `a schedule with id "${id}" already exists; delete it first or pass another --id`);
    if (err instanceof Error && /invalid|cron/i.test(err.message)) throw badInput(`schedule ${id}: ${err.message}`);
    throw err;
  }
}

/**
 * Creates a Schedule that runs `batchScore` with `input` on `cron` (`plumb score … --schedule`).
 * Each run's scored-at is its own start time; `--out` is rewritten by each run.
 *
 *   await createScoreSchedule(client, config, { cron: '0 3 * * *', input: { input: { path }, model: 'churn', idColumns: ['id'] } });
 */
export async function createScoreSchedule(client: Client, config: StackConfig, o: { cron: string; input: BatchScoreInput; id?: string }): Promise<ScheduleInfo> {
  if (!CRON.test(o.cron.trim())) throw badInput(`--schedule "${o.cron}": expected 5 fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"`);
  const parsed = BatchScoreInput.safeParse(o.input);
  if (!parsed.success) throw badInput(`score input: ${formatIssues(parsed.error)}`);
  const id = o.id ?? `score/${parsed.data.model}`;
  if (!SCHEDULE_ID.test(id)) throw badInput(`--id "${id}": use letters, digits and _ . / = -`);
  const memo: ScheduleMemo = { kind: 'score', taskQueue: config.taskQueues.control, target: parsed.data.model, cron: o.cron.trim() };
  try {
    return await describeSchedule(await client.schedule.create({
      scheduleId: id,
      spec: { cronExpressions: [o.cron.trim()] },
      action: { type: 'startWorkflow', workflowType: BATCH_SCORE_WORKFLOW, workflowId: `${id}/run`, taskQueue: config.taskQueues.control, args: [parsed.data] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '60 minutes' },
      memo: { plumb: memo },
    }));
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) throw new PlumbError('Conflict', `a schedule with id "${id}" already exists; delete it first or pass another --id`);
    throw err;
  }
}

export interface MonitorScheduleOptions {
  /** How often the monitor runs; default every `windowMinutes` (so consecutive windows tile the log). */
  everySeconds?: number;
}

/**
 * Creates, or updates in place, the Schedule `monitor/<model>` that runs `monitorModel` with
 * `input` every `everySeconds` (default: the window length). Idempotent: promoting a new
 * production version calls it again with the new version, reference and features. `step.monitor`
 * calls it (through `scheduleMonitoring`), and so does every deployment of a production version
 * that has a stored monitor plan (`followProduction`, the last step of `deployModel`); retiring a
 * model (`retireModel`) calls `deleteMonitorSchedule`.
 *
 *   await createMonitorSchedule(client, config, { model: 'churn', version: '3', reference, features,
 *     windowMinutes: 60, sustainedWindows: 3, retrain: { pipeline: 'churn', params: {} } });
 */
export async function createMonitorSchedule(
  client: Client,
  config: StackConfig,
  draft: MonitorInputDraft,
  o: MonitorScheduleOptions = {},
): Promise<ScheduleInfo> {
  const parsed = MonitorInput.safeParse(draft);
  if (!parsed.success) throw badInput(`monitor input: ${formatIssues(parsed.error)}`);
  const input = parsed.data;
  const everySeconds = o.everySeconds ?? input.windowMinutes * 60;
  if (!Number.isInteger(everySeconds) || everySeconds < 1) throw badInput(`everySeconds ${everySeconds}: expected a whole number ≥ 1`);
  const id = monitorScheduleId(input.model);
  const memo: ScheduleMemo = { kind: 'monitor', taskQueue: config.taskQueues.control, target: input.model };
  const spec = { intervals: [{ every: everySeconds * 1000 }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: MONITOR_WORKFLOW,
    workflowId: `${id}/run`,
    taskQueue: config.taskQueues.control,
    args: [input],
    typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: input.model }],
  };
  // A missed check is only worth running while its window is still the latest one.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(everySeconds, 10) * 1000 };
  try {
    return await describeSchedule(await client.schedule.create({ scheduleId: id, spec, action, policies, memo: { plumb: memo } }));
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(id);
  await handle.update((previous) => ({ ...previous, spec, action, policies: { ...previous.policies, ...policies } }));
  return describeSchedule(handle);
}

/** Removes the monitor Schedule of `model` (a model retired); a missing one is fine. Resolves with whether there was one. */
export async function deleteMonitorSchedule(client: Client, model: string): Promise<boolean> {
  return client.schedule
    .getHandle(monitorScheduleId(model))
    .delete()
    .then(
      () => true,
      (err: unknown) => {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
        return false;
      },
    );
}

/** plumb's schedules on this stack's control task queue (others in the namespace are left out). */
export async function listSchedules(client: Client, config: StackConfig): Promise<ScheduleInfo[]> {
  const out: ScheduleInfo[] = [];
  for await (const summary of client.schedule.list()) {
    const memo = plumbMemo(summary.memo);
    if (!memo || memo.taskQueue !== config.taskQueues.control) continue;
    out.push(summaryInfo(summary, memo));
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

export async function pauseSchedule(client: Client, id: string, note = 'paused with plumb'): Promise<ScheduleInfo> {
  const handle = await existing(client, id);
  await handle.pause(note);
  return describeSchedule(handle);
}

export async function resumeSchedule(client: Client, id: string, note = 'resumed with plumb'): Promise<ScheduleInfo> {
  const handle = await existing(client, id);
  await handle.unpause(note);
  return describeSchedule(handle);
}

/** Takes the schedule's action now; skipped, like a timed one, while the previous run is still going. */
export async function triggerSchedule(client: Client, id: string): Promise<void> {
  await (await existing(client, id)).trigger(ScheduleOverlapPolicy.SKIP);
}

export async function deleteSchedule(client: Client, id: string): Promise<void> {
  await (await existing(client, id)).delete();
}

export async function getSchedule(client: Client, id: string): Promise<ScheduleInfo> {
  return describeSchedule(await existing(client, id));
}

async function existing(client: Client, id: string): Promise<ScheduleHandle> {
  const handle = client.schedule.getHandle(id);
  try {
    await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notFound(`no schedule with id "${id}" (see \`plumb schedule list\`)`);
    throw err;
  }
  return handle;
}

async function describeSchedule(handle: ScheduleHandle): Promise<ScheduleInfo> {
  const d = await handle.describe();
  const memo = plumbMemo(d.memo) ?? { kind: 'pipeline', taskQueue: d.action.taskQueue, target: d.action.workflowType };
  return summaryInfo(
    { scheduleId: d.scheduleId, spec: d.spec, action: { type: 'startWorkflow', workflowType: d.action.workflowType }, state: d.state, info: d.info },
    memo,
  );
}

function summaryInfo(s: Pick<ScheduleSummary, 'scheduleId' | 'spec' | 'action' | 'state' | 'info'>, memo: ScheduleMemo): ScheduleInfo {
  const every = s.spec?.intervals?.[0]?.every;
  return {
    id: s.scheduleId,
    kind: memo.kind,
    workflowType: s.action?.workflowType ?? memo.target,
    target: memo.target,
    ...(memo.cron !== undefined ? { cron: memo.cron } : {}),
    ...(typeof every === 'number' ? { everySeconds: every / 1000 } : {}),
    ...(memo.params !== undefined ? { params: memo.params } : {}),
    paused: s.state.paused,
    ...(s.state.note ? { note: s.state.note } : {}),
    nextRuns: s.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns: s.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
    })),
  };
}

function plumbMemo(memo: Record<string, unknown> | undefined): ScheduleMemo | undefined {
  const m = memo?.plumb as Partial<ScheduleMemo> | undefined;
  if (!m || (m.kind !== 'pipeline' && m.kind !== 'monitor' && m.kind !== 'score') || typeof m.taskQueue !== 'string' || typeof m.target !== 'string') return undefined;
  return m as ScheduleMemo;
}
