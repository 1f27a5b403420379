import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { ArtifactStore } from '../../lib/artifact-store.js';
import { sqlIdent, sqlString, withDuckDB } from '../../lib/duckdb.js';
import {
  MonitorState,
  freshMonitorState,
  monitorReportKey,
  monitorStateKey,
  retrainWorkflowId,
} from '../../lib/monitor-contracts.js';
import type { Logger } from '../../lib/logger.js';
import { SEARCH_ATTRIBUTES } from '../../lib/pipeline-contracts.js';
import { defineActivity } from '../define-activity.js';

/**
 * The monitor workflow's side effects besides the checks themselves: reading and writing its
 * per-model state, cutting the prediction-log window out of the hourly partitions, and starting
 * (or attaching to) the model's one retraining run.
 */
export const PredictionWindowInput = z.strictObject({
  model: z.string().min(1),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
});
export type PredictionWindowInput = z.infer<typeof PredictionWindowInput>;

export interface PredictionWindow {
  rows: number;
  /** A Parquet file with the window's rows, feature columns at the top level; absent when `rows` is 0. */
  path?: string;
  sha256?: string;
}

/** `predictions/model=<m>/hour=<H>` for every hour that overlaps [from, to). */
export function windowPartitions(model: string, from: Date, to: Date): string[] {
  const keys: string[] = [];
  const hour = new Date(from);
  hour.setUTCMinutes(0, 0, 0);
  for (; hour < to; hour.setUTCHours(hour.getUTCHours() + 1)) keys.push(`predictions/model=${model}/hour=${hour.toISOString().slice(0, 13)}`);
  return keys;
}

/**
 * The predictions of `model` with `from <= time < to`, written as one content-addressed Parquet
 * file with the logged `features` struct unpacked into top-level columns (what the drift check
 * compares with the training data). The same window always gives the same file, so a retry or
 * a re-run stores nothing new.
 */
export async function extractPredictionWindow(input: PredictionWindowInput, store: ArtifactStore): Promise<PredictionWindow> {
  const files: string[] = [];
  for (const key of windowPartitions(input.model, new Date(input.from), new Date(input.to))) {
    const dir = store.namedPath(key);
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
    for (const name of names.sort()) if (name.endsWith('.parquet')) files.push(join(dir, name));
  }
  if (files.length === 0) return { rows: 0 };
  const out = await store.tempPath('.parquet');
  try {
    const rows = await withDuckDB(async (db) => {
      const source = `read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)`;
      const described = (await db.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjectsJS();
      const features = described.find((c) => c.column_name === 'features' && String(c.column_type).startsWith('STRUCT'));
      const select = features ? `* EXCLUDE (features), features.*` : '*';
      const where = `"time" >= CAST(${sqlString(input.from)} AS TIMESTAMP) AND "time" < CAST(${sqlString(input.to)} AS TIMESTAMP)`;
      // Ordered so the file's bytes (and so its hash) depend only on the window's content.
      const order = described.some((c) => c.column_name === 'requestId') ? `"time", ${sqlIdent('requestId')}` : '"time"';
      const count = (await db.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${source} WHERE ${where}`)).getRowObjectsJS();
      const n = Number(count[0]?.n ?? 0);
      if (n > 0) await db.run(`COPY (SELECT ${select} FROM ${source} WHERE ${where} ORDER BY ${order}) TO ${sqlString(out)} (FORMAT parquet)`);
      return n;
    });
    if (rows === 0) return { rows: 0 };
    const stored = await store.putFile(out);
    return { rows, path: await store.localPath(stored.sha256), sha256: stored.sha256 };
  } finally {
    await store.discard(out);
  }
}

export async function loadMonitorState(model: string, version: string, store: ArtifactStore): Promise<MonitorState> {
  const raw = await store.getNamed(monitorStateKey(model));
  if (!raw) return freshMonitorState(model, version);
  const state = MonitorState.parse(JSON.parse(raw.toString('utf8')));
  // A new production version is a new model to watch: its streak and alerts start over. The last
  // retraining is the model's, not the version's: a request that attaches to it is no new run.
  if (state.version === version) return state;
  return { ...freshMonitorState(model, version), ...(state.lastRetraining ? { lastRetraining: state.lastRetraining } : {}) };
}

/** Writes the state and, under a stable `.html` name, a copy of the latest report. */
export async function saveMonitorState(state: MonitorState, store: ArtifactStore): Promise<void> {
  if (state.lastReport) await store.putNamed(monitorReportKey(state.model), await store.get(state.lastReport.sha256));
  await store.putNamed(monitorStateKey(state.model), JSON.stringify(state, null, 2));
}

export const StartRetrainingInput = z.strictObject({
  model: z.string().min(1),
  pipeline: z.string().min(1),
  params: z.record(z.string(), z.unknown()),
});
export type StartRetrainingInput = z.infer<typeof StartRetrainingInput>;

/**
 * Starts `pipeline` as the workflow `retrain/<model>`, or attaches to it when it is already
 * running (`USE_EXISTING`): whatever retries, overlapping schedule runs or repeated drift ask,
 * at most one retraining run per model exists at a time. A finished one may be followed by a new
 * one (`ALLOW_DUPLICATE`).
 */
export async function startRetraining(
  input: StartRetrainingInput,
  client: Client,
  taskQueue: string,
  servingTaskQueue?: string,
): Promise<{ workflowId: string; runId: string }> {
  const workflowId = retrainWorkflowId(input.model);
  const handle = await client.workflow.start(input.pipeline, {
    taskQueue,
    workflowId,
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    // As `plumb run` does: a retrained model promoted by the run deploys to this stack's pools.
    args: [{ params: input.params, cache: true, autoApprove: false, ...(servingTaskQueue ? { servingTaskQueue } : {}) }],
    typedSearchAttributes: [
      { key: SEARCH_ATTRIBUTES.pipeline, value: input.pipeline },
      { key: SEARCH_ATTRIBUTES.stage, value: 'starting' },
      { key: SEARCH_ATTRIBUTES.model, value: input.model },
    ],
  });
  return { workflowId, runId: handle.firstExecutionRunId };
}

export function createMonitorActivities(deps: { store: ArtifactStore; log: Logger; servingTaskQueue?: string }) {
  const { store, log } = deps;
  return {
    extractPredictionWindow: defineActivity('extractPredictionWindow', PredictionWindowInput, log, (input) => extractPredictionWindow(input, store)),
    loadMonitorState: defineActivity('loadMonitorState', z.strictObject({ model: z.string().min(1), version: z.string().min(1) }), log, (input) =>
      loadMonitorState(input.model, input.version, store),
    ),
    saveMonitorState: defineActivity('saveMonitorState', z.strictObject({ state: MonitorState }), log, (input) => saveMonitorState(input.state, store)),
    startRetraining: defineActivity('startRetraining', StartRetrainingInput, log, (input) =>
      startRetraining(input, Context.current().client, Context.current().info.taskQueue, deps.servingTaskQueue),
    ),
  };
}

export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
