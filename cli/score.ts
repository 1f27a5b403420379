import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { BATCH_PROGRESS_QUERY, BATCH_SCORE_WORKFLOW, type BatchProgress, BatchScoreInput, type BatchScoreResult } from '../lib/batch-score-contracts.js';
import type { StackConfig } from '../lib/config.js';
import { badInput } from '../lib/errors.js';
import { formatProgress } from '../lib/progress.js';
import { fromFailure } from '../lib/registry-client.js';
import { createScoreSchedule } from '../lib/schedules.js';
import { formatIssues } from '../lib/zod-issues.js';
import { connectClient } from './client.js';

const POLL_MS = 1000;

/**
 * `plumb score <model> <input> --out <path>`: starts a batchScore run on the control queue; with
 * --wait, prints progress lines (chunks and rows/s) to stderr until it finishes.
 *
 *   plumb score churn data/customers.parquet --id customer_id --out scores.parquet --wait
 */
export function registerScoreCommands(program: Command, loadConfig: () => Promise<StackConfig>): void {
  program
    .command('score <model> <input>')
    .description('score a dataset file with a registered model version on the serving pools (durable, resumable)')
    .requiredOption('--out <path>', 'write the scores (id columns, label, probability, model_version, scored_at) as Parquet here')
    .option('--id <column...>', 'id columns copied to the output', ['id'])
    .option('--version <v>', 'model version number or "production"', 'production')
    .option('--chunk-rows <n>', 'rows per chunk', '100000')
    .option('--parallelism <n>', 'chunks scored at once', '2')
    .option('--max-reject-share <share>', 'fail when more than this share of rows fail validation', '0.01')
    .option('--workflow-id <id>', 'workflow id; default score/<model>/<time>')
    .option('--schedule <cron>', 'instead of running now, create a Schedule running this scoring on a 5-field cron (UTC)')
    .option('--schedule-id <id>', 'id of that schedule; default score/<model>')
    .option('--wait', 'wait for the result, printing progress')
    .option('--json', 'print the result as JSON')
    .action(async (model: string, input: string, opts: {
      out: string; id: string[]; version: string; chunkRows: string; parallelism: string; maxRejectShare: string; workflowId?: string;
      schedule?: string; scheduleId?: string; wait?: boolean; json?: boolean;
    }) => {
      const config = await loadConfig();
      const parsed = BatchScoreInput.safeParse({
        input: { path: resolve(input) },
        model,
        version: opts.version === 'production' ? 'production' : Number(opts.version),
        idColumns: opts.id,
        out: resolve(opts.out),
        chunkRows: Number(opts.chunkRows),
        parallelism: Number(opts.parallelism),
        maxRejectShare: Number(opts.maxRejectShare),
        servingTaskQueue: config.taskQueues.serving,
      });
      if (!parsed.success) throw badInput(`plumb score: ${formatIssues(parsed.error)}`);
      const { client, close } = await connectClient(config);
      try {
        if (opts.schedule) {
          const info = await createScoreSchedule(client, config, { cron: opts.schedule, input: parsed.data, ...(opts.scheduleId ? { id: opts.scheduleId } : {}) });
          process.stdout.write((opts.json ? JSON.stringify(info) : `created schedule ${info.id}; next runs: ${info.nextRuns.join(', ')}`) + '\n');
          return;
        }
        const workflowId = opts.workflowId ?? `score/${model}/${new Date().toISOString()}`;
        const handle = await client.workflow.start(BATCH_SCORE_WORKFLOW, { taskQueue: config.taskQueues.control, workflowId, args: [parsed.data] });
        if (!opts.wait) {
          process.stdout.write((opts.json ? JSON.stringify({ workflowId, runId: handle.firstExecutionRunId }) : `started ${workflowId}`) + '\n');
          return;
        }
        const started = Date.now();
        let last = '';
        const print = (p: BatchProgress) => {
          const seconds = Math.max((Date.now() - started) / 1000, 0.001);
          const line = formatProgress({ stage: p.stage, done: p.chunksDone, total: p.chunksTotal, unit: 'chunks', message: `${p.rowsDone.toLocaleString('en-US')} rows, ${Math.round(p.rowsDone / seconds).toLocaleString('en-US')} rows/s` });
          if (line !== last) process.stderr.write(line + '\n');
          last = line;
        };
        const timer = setInterval(() => void handle.query<BatchProgress>(BATCH_PROGRESS_QUERY).then(print, () => undefined), POLL_MS);
        let result: BatchScoreResult;
        try {
          result = await handle.result();
        } catch (err) {
          throw err instanceof WorkflowFailedError ? fromFailure(innermost(err)) : err;
        } finally {
          clearInterval(timer);
        }
        print({ stage: 'done', chunksDone: result.chunks, chunksTotal: result.chunks, rowsDone: result.rows.scored, rowsTotal: result.rows.scored });
        process.stdout.write((opts.json ? JSON.stringify(result) : describe(result)) + '\n');
      } finally {
        await close();
      }
    });
}

/** The failure that ended the run: a failed activity's own ApplicationFailure, else the run's. */
function innermost(err: WorkflowFailedError): unknown {
  return err.cause instanceof ActivityFailure && err.cause.cause instanceof ApplicationFailure ? err.cause.cause : err;
}

function describe(r: BatchScoreResult): string {
  return [
    `scored ${r.rows.scored.toLocaleString('en-US')} of ${r.rows.input.toLocaleString('en-US')} rows with ${r.model} v${r.version} in ${r.chunks} chunks`,
    `output: ${r.out ?? r.output.uri} (${r.output.sha256})`,
    ...(r.rejects ? [`rejected: ${r.rows.rejected.toLocaleString('en-US')} rows, reasons in ${r.rejects.uri}`] : []),
  ].join('\n');
}
