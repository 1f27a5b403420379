import type { Command } from 'commander';
import type { StackConfig } from '../lib/config.js';
import { badInput } from '../lib/errors.js';
import {
  type ScheduleInfo,
  createPipelineSchedule,
  deleteSchedule,
  listSchedules,
  pauseSchedule,
  resumeSchedule,
  triggerSchedule,
} from '../lib/schedules.js';
import { connectClient } from './client.js';
import { collect, printResult } from './output.js';
import { loadPipeline, parseParams } from './pipelines.js';

/**
 * `plumb schedule …`: Temporal Schedules that start pipeline runs (nightly retraining), plus the
 * monitor schedules promotion creates, which `list`, `pause`, `resume`, `trigger` and `delete` also handle.
 *
 *   plumb schedule create churn --cron "0 2 * * *" --param rows=100000
 *   plumb schedule list
 *   plumb schedule trigger churn-schedule
 */
export function registerScheduleCommands(program: Command, loadConfig: () => Promise<StackConfig>): void {
  const schedule = program.command('schedule').description('Temporal Schedules: nightly pipeline runs and model monitors');

  schedule
    .command('create <pipeline>')
    .description('run a pipeline on a cron schedule (overlapping runs are skipped)')
    .requiredOption('--cron <expression>', 'five-field cron, e.g. "0 2 * * *" (02:00 every day)')
    .option('-p, --param <key=value>', 'a pipeline parameter; repeat for more (values are read as JSON when they parse)', collect, [])
    .option('--id <scheduleId>', 'schedule id (default: <pipeline>-schedule)')
    .option('--timezone <tz>', 'IANA time zone the cron is read in (default UTC)')
    .option('--catchup-minutes <n>', 'after an outage, still take runs missed by at most this long', '60')
    .option('--json', 'print machine-readable JSON')
    .action(async (name: string, opts: { cron: string; param: string[]; id?: string; timezone?: string; catchupMinutes: string; json?: boolean }) => {
      const config = await loadConfig();
      const pipeline = await loadPipeline(config, name);
      const params = parseParams(pipeline, opts.param);
      const catchupMinutes = Number(opts.catchupMinutes);
      if (!Number.isInteger(catchupMinutes) || catchupMinutes < 1) throw badInput(`--catchup-minutes "${opts.catchupMinutes}": expected a whole number ≥ 1`);
      await withClient(config, async (client) => {
        const info = await createPipelineSchedule(client, config, { pipeline: name, cron: opts.cron, params, id: opts.id, timezone: opts.timezone, catchupMinutes });
        printResult(info, opts.json ?? false, () => `created schedule ${info.id}: ${name} at "${info.cron}"\n${renderNext(info)}`);
      });
    });

  schedule
    .command('list')
    .description("this stack's schedules")
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = await loadConfig();
      await withClient(config, async (client) => {
        const list = await listSchedules(client, config);
        printResult(list, opts.json ?? false, () => (list.length ? list.map(renderLine).join('\n') : 'no schedules'));
      });
    });

  const simple = [
    ['pause', 'stop taking actions until resumed', pauseSchedule],
    ['resume', 'take actions again', resumeSchedule],
  ] as const;
  for (const [verb, description, run] of simple) {
    schedule
      .command(`${verb} <id>`)
      .description(description)
      .option('--note <text>', 'why, shown in the Temporal UI')
      .option('--json', 'print machine-readable JSON')
      .action(async (id: string, opts: { note?: string; json?: boolean }) => {
        const config = await loadConfig();
        await withClient(config, async (client) => {
          const info = await run(client, id, opts.note);
          printResult(info, opts.json ?? false, () => renderLine(info));
        });
      });
  }

  schedule
    .command('trigger <id>')
    .description('take the action now (skipped while the previous run is still going)')
    .option('--json', 'print machine-readable JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const config = await loadConfig();
      await withClient(config, async (client) => {
        await triggerSchedule(client, id);
        printResult({ id, triggered: true }, opts.json ?? false, () => `triggered ${id}`);
      });
    });

  schedule
    .command('delete <id>')
    .description('remove the schedule (runs it started are not affected)')
    .option('--json', 'print machine-readable JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const config = await loadConfig();
      await withClient(config, async (client) => {
        await deleteSchedule(client, id);
        printResult({ id, deleted: true }, opts.json ?? false, () => `deleted schedule ${id}`);
      });
    });
}

async function withClient(config: StackConfig, body: (client: Awaited<ReturnType<typeof connectClient>>['client']) => Promise<void>): Promise<void> {
  const { client, close } = await connectClient(config);
  try {
    await body(client);
  } finally {
    await close();
  }
}

function renderLine(s: ScheduleInfo): string {
  const when = s.cron ? `cron "${s.cron}"` : `every ${s.everySeconds}s`;
  const last = s.recentRuns.at(-1);
  return `${s.id.padEnd(28)} ${s.kind.padEnd(8)} ${s.target.padEnd(16)} ${when.padEnd(22)} ${s.paused ? 'PAUSED ' : 'active '}` +
    ` next ${s.nextRuns[0] ?? '—'}${last ? `  last ${last.workflowId}` : ''}`;
}

function renderNext(s: ScheduleInfo): string {
  return s.nextRuns.length ? `next runs: ${s.nextRuns.slice(0, 3).join(', ')}` : 'no upcoming runs';
}
