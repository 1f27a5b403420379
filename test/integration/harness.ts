// Shared by integration tests: the dev server started by test/run.ts, a stack file per suite
// (own task queues and artifact folder), worker processes that are always cleaned up.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { parse, stringify } from 'yaml';
import { hasPoller } from '../../cli/stack.js';
import { type StackConfig, loadStackConfig } from '../../lib/config.js';
import { stopProcess } from '../../lib/dev-server.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { temporalConnectionOptions } from '../../lib/temporal-connection.js';

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
  // The serving worker runs activities only: it never polls for workflow tasks.
  const polling = kind === 'control' ? () => hasPoller(suite.config, queue, child.pid ?? -1) : () => hasActivityPoller(suite.config, queue, child.pid ?? -1);
  while (!(await polling().catch(() => false))) {
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

async function hasActivityPoller(config: StackConfig, taskQueue: string, pid: number): Promise<boolean> {
  const connection = await Connection.connect({ ...(await temporalConnectionOptions(config)), connectTimeout: 2000 });
  try {
    const res = await connection.workflowService.describeTaskQueue({ namespace: config.temporal.namespace, taskQueue: { name: taskQueue }, taskQueueType: 2 });
    return (res.pollers ?? []).some((p) => p.identity?.startsWith(`${pid}@`));
  } finally {
    await connection.close();
  }
}
