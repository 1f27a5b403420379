import { randomUUID } from 'node:crypto';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { type StackConfig, temporalUiUrl } from '../lib/config.js';
import { PlumbError, messageOf } from '../lib/errors.js';
import { APPROVAL_HANDLERS, type ApprovalState } from '../lib/approval-contracts.js';
import { type PipelineStatus, SEARCH_ATTRIBUTES, STATUS_QUERY } from '../lib/pipeline-contracts.js';
import { type Progress, formatProgress } from '../lib/progress.js';
import type { PipelineResult } from '../workflows/pipeline.js';
import { connectClient } from './client.js';
import { collect, note, printResult } from './output.js';
import { loadPipeline, parseParams } from './pipelines.js';

export function registerRunCommands(program: Command, loadConfig: () => Promise<StackConfig>): void {
  program
    .command('run <pipeline>')
    .description('start a pipeline run (a Temporal workflow named after the pipeline)')
    .option('-p, --param <key=value>', 'a pipeline parameter; repeat for more (values are read as JSON when they parse)', collect, [])
    .option('-w, --wait', 'follow the run with progress lines and print its result')
    .option('--json', 'print machine-readable JSON')
    .option('--no-cache', 'recompute every step instead of reusing cached outputs')
    .option('--auto-approve', 'approve at the approval gate as the user "auto"')
    .option('--id <workflowId>', 'workflow id to use (default: <pipeline>-<random>)')
    .action(async (name: string, opts: { param: string[]; wait?: boolean; json?: boolean; cache: boolean; autoApprove?: boolean; id?: string }) => {
      const config = await loadConfig();
      const pipeline = await loadPipeline(config, name);
      const params = parseParams(pipeline, opts.param);
      const { client, close } = await connectClient(config);
      try {
        const workflowId = opts.id ?? `${name}-${randomUUID().slice(0, 8)}`;
        const handle = await client.workflow.start(name, {
          taskQueue: config.taskQueues.control,
          workflowId,
          args: [{ params, cache: opts.cache, autoApprove: opts.autoApprove ?? false, servingTaskQueue: config.taskQueues.serving }],
          typedSearchAttributes: [
            { key: SEARCH_ATTRIBUTES.pipeline, value: name },
            { key: SEARCH_ATTRIBUTES.stage, value: 'starting' },
            ...(pipeline.model ? [{ key: SEARCH_ATTRIBUTES.model, value: pipeline.model }] : []),
          ],
        });
        const url = runUrl(config, workflowId, handle.firstExecutionRunId);
        if (!opts.wait) {
          printResult({ workflowId, runId: handle.firstExecutionRunId, url }, opts.json ?? false, () =>
            [`started ${name}: ${workflowId}`, ...(url ? [`  ${url}`] : []), `follow it with: plumb status ${workflowId}`].join('\n'),
          );
          return;
        }
        note(`started ${name}: ${workflowId}${url ? `\n  ${url}` : ''}`);
        const result = await followRun(client, workflowId, opts.json ? () => {} : note, url);
        printResult({ workflowId, runId: handle.firstExecutionRunId, ...result }, opts.json ?? false, () => renderResult(result));
      } finally {
        await close();
      }
    });

  program
    .command('status <workflowId>')
    .description("show a run's state: status, current stage, steps, progress and result")
    .option('--json', 'print machine-readable JSON')
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      const config = await loadConfig();
      const { client, close } = await connectClient(config);
      try {
        const status = await describeRun(client, workflowId);
        printResult({ ...status, url: runUrl(config, workflowId, status.runId) }, opts.json ?? false, () => renderStatus(status));
      } finally {
        await close();
      }
    });
}

export function runUrl(config: StackConfig, workflowId: string, runId?: string): string | undefined {
  const ui = temporalUiUrl(config);
  if (!ui) return undefined;
  const id = encodeURIComponent(workflowId);
  return `${ui}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${id}${runId ? `/${runId}` : ''}`;
}

export interface RunDescription {
  workflowId: string;
  runId: string;
  status: string;
  pipeline?: PipelineStatus;
  progress?: Progress;
  result?: unknown;
  failure?: string;
}

export async function describeRun(client: Client, workflowId: string): Promise<RunDescription> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe().catch((err: unknown) => {
    if (err instanceof Error && err.name === 'WorkflowNotFoundError') throw new PlumbError('NotFound', `no run with workflow id ${workflowId}`);
    throw err;
  });
  const out: RunDescription = { workflowId, runId: description.runId, status: description.status.name };
  const pending = description.raw.pendingActivities?.[0];
  const details = pending?.heartbeatDetails?.payloads?.[0];
  if (details?.data) {
    try {
      out.progress = JSON.parse(Buffer.from(details.data).toString('utf8')) as Progress;
    } catch {
      // heartbeat details that are not plumb progress: nothing to show
    }
  }
  if (description.status.name === 'RUNNING') {
    out.pipeline = await handle.query<PipelineStatus>(STATUS_QUERY).catch(() => undefined);
  } else if (description.status.name === 'COMPLETED') {
    out.result = await handle.result();
  } else if (description.status.name === 'FAILED') {
    out.failure = await handle.result().then(
      () => undefined,
      (err: unknown) => failureMessage(err),
    );
  }
  return out;
}

/** Prints a line each time the stage or the progress changes; resolves with the run's result. */
export async function followRun(
  client: Client,
  workflowId: string,
  print: (line: string) => void,
  url?: string,
): Promise<PipelineResult<unknown>> {
  const outcome = client.workflow
    .getHandle(workflowId)
    .result()
    .then(
      (result: PipelineResult<unknown>) => ({ result }),
      (error: unknown) => ({ error }),
    );
  let finished = false;
  void outcome.then(() => (finished = true));
  let last = '';
  let announced = false;
  // One poll at a time, and none left running once the run ends (the caller closes the connection).
  while (!finished) {
    await Promise.race([outcome, new Promise((r) => setTimeout(r, 1000))]);
    if (finished) break;
    const d = await describeRun(client, workflowId).catch(() => undefined);
    const stage = d?.pipeline?.stage;
    const line = d?.progress ? formatProgress(d.progress) : stage ? `stage: ${stage}` : '';
    if (line && line !== last && !finished) print((last = line));
    if (stage === 'approval' && !announced) {
      const gate = await client.workflow.getHandle(workflowId).query<ApprovalState | null>(APPROVAL_HANDLERS.state).catch(() => null);
      if (gate && !gate.decision) {
        announced = true;
        howToApprove(gate, url).forEach((l) => print(l));
      }
    }
  }
  const o = await outcome;
  if ('error' in o) throw new PlumbError('Conflict', `run ${workflowId} failed: ${failureMessage(o.error)}`);
  return o.result;
}

/** What an approver does next, printed once when a followed run reaches its gate. */
export function howToApprove(gate: ApprovalState, url?: string): string[] {
  const by = gate.approvers[0] ?? '<you>';
  return [
    `${gate.model} v${gate.version} is waiting for approval by one of: ${gate.approvers.join(', ')}`,
    ...(url ? [`  in the Temporal UI: ${url} → Send a Signal → name "approve" (or "reject"), data {"by": "${by}", "comment": "…"}`] : []),
    `  or on the command line: npx plumb approve ${gate.model} ${gate.version} --by ${by} [--comment "…"]   (or: npx plumb reject …)`,
  ];
}

/** The innermost cause, which is the message the failing step gave. */
export function failureMessage(err: unknown): string {
  let e: unknown = err instanceof WorkflowFailedError ? err.cause : err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return messageOf(e);
}

function renderResult(r: PipelineResult<unknown>): string {
  const steps = r.steps.map((s) => `  ${s.status === 'cached' ? '↺' : '✓'} ${s.step}${s.summary ? ` — ${s.summary}` : ''}`);
  return [`${r.pipeline} finished`, ...steps, 'result:', JSON.stringify(r.result, null, 2)].join('\n');
}

function renderStatus(d: RunDescription): string {
  const lines = [`${d.workflowId} (${d.runId}): ${d.status}`];
  if (d.pipeline) lines.push(`stage: ${d.pipeline.stage}`, ...d.pipeline.steps.map((s) => `  ${s.status} ${s.step}${s.summary ? ` — ${s.summary}` : ''}`));
  if (d.progress) lines.push(formatProgress(d.progress));
  if (d.result !== undefined) lines.push(JSON.stringify(d.result, null, 2));
  if (d.failure) lines.push(`failure: ${d.failure}`);
  return lines.join('\n');
}
