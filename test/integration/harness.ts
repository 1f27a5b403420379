// Shared by integration tests: the dev server started by test/run.ts, a stack file per suite
// (own task queues and artifact folder), worker processes that are always cleaned up.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { parse, stringify } from 'yaml';
import { hasPoller } from '../../cli/stack.js';
import { type StackConfig, loadStackConfig } from '../../lib/config.js';
import { stopProcess } from '../../lib/dev-server.js';
import { createLogger } from '../../lib/logger.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { temporalConnectionOptions } from '../../lib/temporal-connection.js';
import { createControlWorker } from '../../workers/control-worker.js';

export interface Suite {
  name: string;
  config: StackConfig;
  /** The suite's stack file, for child processes. */
  file: string;
  dir: string;
}

/** A stack file for one suite: the shared dev server, its own task queues and artifact store. */
export async function createSuite(name: string, overrides: Record<string, unknown> = {}): Promise<Suite> {
  const base = process.env.PLUMB_TEST_CONFIG;
  if (!base) throw new Error('PLUMB_TEST_CONFIG is not set: run integration tests through `npm test` (test/run.ts)');
  const raw = parse(await readFile(base, 'utf8')) as Record<string, Record<string, unknown>>;
  const id = `${name}-${randomUUID().slice(0, 6)}`;
  const dir = join(process.env.PLUMB_TEST_WORKDIR ?? '/tmp', 'suites', id);
  await mkdir(dir, { recursive: true });
  const doc = {
    ...raw,
    taskQueues: { control: `control-${id}`, serving: `serving-${id}` },
    artifacts: { dir: join(dir, 'artifacts') },
    stateDir: join(dir, 'state'),
    ...overrides,
  };
  const file = join(dir, 'temporal-dev.yml');
  await writeFile(file, stringify(doc));
  return { name: id, config: await loadStackConfig(file, {}), file, dir };
}

export async function connectTestClient(config: StackConfig): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect(await temporalConnectionOptions(config));
  return { client: new Client({ connection, namespace: config.temporal.namespace }), close: () => connection.close() };
}

export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<unknown>;
  kill(signal: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `workers/<kind>.ts` as its own process and waits until it polls its task queue. */
export async function startWorkerProcess(suite: Suite, kind: 'control' | 'serving'): Promise<WorkerProcess> {
  const logFile = join(suite.dir, `${kind}-${Date.now()}.log`);
  const { openSync } = await import('node:fs');
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'workers', `${kind}.ts`), '--config', suite.file], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', out, out],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const queue = kind === 'control' ? suite.config.taskQueues.control : suite.config.taskQueues.serving;
  const deadline = Date.now() + 120_000;
  // The serving process runs activities only: it polls the activity side of its queue.
  while (!(await hasPoller(suite.config, queue, child.pid ?? -1, kind === 'control' ? 'workflow' : 'activity').catch(() => false))) {
    if (child.exitCode !== null) throw new Error(`${kind} worker exited at start; see ${logFile}:\n${await readFile(logFile, 'utf8')}`);
    if (Date.now() > deadline) throw new Error(`${kind} worker did not poll ${queue} in time; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    child,
    exited,
    kill: async (signal) => {
      child.kill(signal);
      await exited;
    },
    stop: () => stopProcess(child, exited),
  };
}

export interface InProcessWorker {
  client: Client;
  worker: Worker;
  /** Shuts the worker down, waits for it, closes the client. */
  stop(): Promise<void>;
}

/** A control worker running in the test process (test activities or the real ones) and a client. */
export async function startInProcessWorker(suite: Suite, activities?: object): Promise<InProcessWorker> {
  const { client, close } = await connectTestClient(suite.config);
  const { worker } = await createControlWorker({ config: suite.config, log: createLogger({ level: 'error' }), ...(activities ? { activities } : {}) });
  const running = worker.run();
  return {
    client,
    worker,
    stop: async () => {
      worker.shutdown();
      await running;
      await close();
    },
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `plumb` CLI process against the suite's stack; a failing command resolves with its exit code. */
export async function runPlumb(suite: Suite, ...args: string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'bin', 'plumb.js'), '--config', suite.file, ...args], { cwd: PROJECT_ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as CliRun;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
