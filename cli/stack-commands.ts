import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { StackConfig } from '../lib/config.js';
import { PlumbError } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { PROJECT_ROOT } from '../lib/project-root.js';
import { ensureTemporalCli } from '../lib/temporal-cli.js';
import { runControlWorker } from '../workers/control-worker.js';
import { runServingProcess } from '../workers/serving-process.js';
import { note, printResult } from './output.js';
import { type RunningStack, logDir, readStackState, startStack, stateFile } from './stack.js';

export function registerStackCommands(program: Command, loadConfig: () => Promise<StackConfig>): void {
  program
    .command('dev')
    .description('run the whole stack in the foreground (Temporal dev server, control worker, serving pool) until Ctrl-C')
    .action(async () => {
      const config = await loadConfig();
      const stack = await startInForeground(config);
      await untilSignalled();
      note('stopping the stack…');
      await stack.stop();
      note('stopped');
    });

  program
    .command('up')
    .description('start the stack in the background; returns when it is ready (stop it with `plumb down`)')
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = await loadConfig();
      const existing = await readStackState(config);
      if (existing && isAlive(existing.pid)) {
        throw new PlumbError('Conflict', `a stack is already running (pid ${existing.pid}, ${stateFile(config)}); stop it with \`plumb down\``);
      }
      await rm(stateFile(config), { force: true });
      await mkdir(logDir(config), { recursive: true });
      const logFile = join(logDir(config), 'stack.log');
      const out = openSync(logFile, 'a');
      const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'plumb.js'), '--config', config.file, 'dev'], {
        cwd: process.cwd(),
        detached: true,
        stdio: ['ignore', out, out],
      });
      child.unref();
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      let code: number | null | undefined;
      void exited.then((c) => (code = c));
      for (;;) {
        if (code !== undefined) {
          const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join('\n');
          throw new PlumbError('Unavailable', `the stack did not start (exit code ${code}):\n${tail}`);
        }
        const state = await readStackState(config);
        if (state?.ready && state.pid === child.pid) {
          printResult(state, opts.json ?? false, () =>
            [`plumb stack is up (pid ${state.pid}; logs in ${logDir(config)})`, ...urls(state.uiUrl, state.servingUrl)].join('\n'),
          );
          return;
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    });

  program
    .command('down')
    .description('stop the stack started by `plumb up`, and every process it started')
    .action(async () => {
      const config = await loadConfig();
      const state = await readStackState(config);
      if (!state) {
        note('no stack is running');
        return;
      }
      if (isAlive(state.pid)) process.kill(state.pid, 'SIGTERM');
      await waitForExit([state.pid], 60_000);
      const left = state.children.filter((c) => isAlive(c.pid));
      for (const c of left) process.kill(c.pid, 'SIGKILL');
      await waitForExit(left.map((c) => c.pid), 10_000);
      await rm(stateFile(config), { force: true });
      note('plumb stack stopped');
    });

  const worker = program.command('worker').description('run one worker process against the configured Temporal (scale out by starting more)');
  worker
    .command('control')
    .description('a control worker: all workflows plus data, training, evaluation and registry activities')
    .action(async () => {
      const config = await loadConfig();
      await runControlWorker(config, createLogger({ level: config.logLevel, context: { process: 'control-worker', pid: process.pid } }));
    });

  worker
    .command('serving')
    .description('a serving-pool process: HTTP predictions plus the serving control activities')
    .action(async () => {
      const config = await loadConfig();
      await runServingProcess(config, createLogger({ level: config.logLevel, context: { process: 'serving', pid: process.pid } }));
    });

  program
    .command('temporal-cli')
    .description('find the Temporal CLI (PLUMB_TEMPORAL_CLI, PATH, .tools/), installing the pinned one if needed; prints its path')
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      const found = await ensureTemporalCli(process.env, note);
      printResult(found, opts.json ?? false, () => found.path);
    });
}

export async function startInForeground(config: StackConfig): Promise<RunningStack> {
  const log = createLogger({ level: config.logLevel, context: { process: 'plumb-dev' } });
  const stack = await startStack(config, log, note);
  note(['plumb stack is up', ...urls(stack.uiUrl, stack.servingUrl), `  logs:        ${logDir(config)}`].join('\n'));
  return stack;
}

function urls(uiUrl: string | undefined, servingUrl: string): string[] {
  return [...(uiUrl ? [`  Temporal UI: ${uiUrl}`] : []), `  serving:     ${servingUrl}`];
}

export function untilSignalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
}
