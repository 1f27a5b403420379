import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { z } from 'zod';
import { type StackConfig, temporalAddress, temporalUiUrl } from '../lib/config.js';
import { type DevServer, type NamedPort, assertPortsFree, startDevServer, stopProcess } from '../lib/dev-server.js';
import { PlumbError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { PROJECT_ROOT } from '../lib/project-root.js';
import { ensureSearchAttributes } from '../lib/search-attributes.js';
import { ensureTemporalCli } from '../lib/temporal-cli.js';
import { temporalConnectionOptions } from '../lib/temporal-connection.js';

/** What `plumb up` leaves behind for `plumb down` and for other commands to find the stack. */
export const StackState = z.object({
  pid: z.number().int(),
  configFile: z.string(),
  ready: z.boolean(),
  uiUrl: z.string().optional(),
  servingUrl: z.string(),
  temporalAddress: z.string(),
  children: z.array(z.object({ name: z.string(), pid: z.number().int() })),
});
export type StackState = z.infer<typeof StackState>;

export const stateFile = (config: StackConfig) => join(config.stateDir, 'stack.json');
export const logDir = (config: StackConfig) => join(config.stateDir, 'logs');

export async function readStackState(config: StackConfig): Promise<StackState | undefined> {
  const text = await readFile(stateFile(config), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = StackState.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

interface Service {
  name: 'control-worker' | 'serving-pool';
  entry: string;
  ready: (pid: number) => Promise<boolean>;
}

interface RunningService extends Service {
  child: ChildProcess;
  exited: Promise<unknown>;
}

export interface RunningStack {
  uiUrl: string | undefined;
  servingUrl: string;
  temporalAddress: string;
  /** Resolves when a stop was asked for and everything has stopped. */
  stop(): Promise<void>;
}

/**
 * Starts the whole local stack in the foreground: the Temporal dev server (unless the stack file
 * names a cluster), one control worker and one serving-pool process, each a child process that is
 * restarted if it dies. Process logs go to `<stateDir>/logs/`.
 */
export async function startStack(config: StackConfig, log: Logger, onProgress: (line: string) => void): Promise<RunningStack> {
  const ports: NamedPort[] = [{ name: 'serving.port (PLUMB_SERVING_PORT)', host: config.serving.host, port: config.serving.port }];
  if (config.controlWorker.metricsPort !== undefined) {
    ports.push({ name: 'controlWorker.metricsPort (PLUMB_WORKER_METRICS_PORT)', host: config.controlWorker.host, port: config.controlWorker.metricsPort });
  }
  if (config.usesDevServer) {
    const d = config.devServer;
    ports.unshift(
      { name: 'devServer.frontendPort (PLUMB_TEMPORAL_PORT)', host: d.host, port: d.frontendPort },
      { name: 'devServer.uiPort (PLUMB_UI_PORT)', host: d.host, port: d.uiPort },
      { name: 'devServer.metricsPort (PLUMB_METRICS_PORT)', host: d.host, port: d.metricsPort },
    );
  }
  await assertPortsFree(ports);
  await mkdir(logDir(config), { recursive: true });

  let devServer: DevServer | undefined;
  if (config.usesDevServer) {
    const cli = await ensureTemporalCli(process.env, onProgress);
    onProgress(`starting the Temporal dev server (${cli.path})`);
    const d = config.devServer;
    devServer = await startDevServer({
      cli: cli.path,
      host: d.host,
      frontendPort: d.frontendPort,
      uiPort: d.uiPort,
      metricsPort: d.metricsPort,
      sqliteFile: d.sqliteFile,
      namespace: config.temporal.namespace,
      searchAttributes: d.searchAttributes,
      logFile: join(logDir(config), 'temporal-server.log'),
    });
  }

  if (!config.usesDevServer) {
    const connection = await Connection.connect(await temporalConnectionOptions(config));
    try {
      const added = await ensureSearchAttributes(connection, config.temporal.namespace, config.devServer.searchAttributes);
      if (added.length) onProgress(`registered search attributes ${added.join(', ')}`);
    } finally {
      await connection.close();
    }
  }

  const servingUrl = `http://${config.serving.host}:${config.serving.port}`;
  const services: Service[] = [
    {
      name: 'control-worker',
      entry: join(PROJECT_ROOT, 'workers', 'control.ts'),
      ready: (pid) => hasPoller(config, config.taskQueues.control, pid),
    },
    {
      name: 'serving-pool',
      entry: join(PROJECT_ROOT, 'workers', 'serving.ts'),
      ready: () => httpOk(`${servingUrl}/v2/health/live`),
    },
  ];

  let stopping = false;
  const running = new Map<Service['name'], RunningService>();
  const launch = async (service: Service): Promise<RunningService> => {
    const out = createWriteStream(join(logDir(config), `${service.name}.log`), { flags: 'a' });
    await new Promise((resolve) => out.once('open', resolve));
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), service.entry, '--config', config.file], {
      cwd: config.baseDir,
      stdio: ['ignore', out, out, 'ipc'],
      env: process.env,
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const entry: RunningService = { ...service, child, exited };
    running.set(service.name, entry);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      log.warn(`${service.name} exited; restarting it in 2 s`, { code, signal, log: join(logDir(config), `${service.name}.log`) });
      setTimeout(() => void (stopping ? undefined : launch(service)), 2000);
    });
    return entry;
  };

  const stop = async () => {
    stopping = true;
    await Promise.all([...running.values()].map((s) => stopProcess(s.child, s.exited, 20_000)));
    await devServer?.stop();
  };

  try {
    for (const service of services) {
      onProgress(`starting the ${service.name}`);
      const entry = await launch(service);
      await waitUntil(service.ready, entry, 120_000, join(logDir(config), `${service.name}.log`));
    }
  } catch (err) {
    await stop();
    throw err;
  }

  await writeStackState(config, {
    pid: process.pid,
    configFile: config.file,
    ready: true,
    uiUrl: temporalUiUrl(config),
    servingUrl,
    temporalAddress: temporalAddress(config),
    children: [
      ...(devServer?.process.pid ? [{ name: 'temporal-server', pid: devServer.process.pid }] : []),
      ...[...running.values()].flatMap((s) => (s.child.pid ? [{ name: s.name, pid: s.child.pid }] : [])),
    ],
  });
  return {
    uiUrl: temporalUiUrl(config),
    servingUrl,
    temporalAddress: temporalAddress(config),
    stop: async () => {
      await stop();
      await rm(stateFile(config), { force: true });
    },
  };
}

async function writeStackState(config: StackConfig, state: StackState): Promise<void> {
  await mkdir(config.stateDir, { recursive: true });
  await writeFile(stateFile(config), JSON.stringify(state, null, 2));
}

async function waitUntil(ready: (pid: number) => Promise<boolean>, s: RunningService, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) {
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      throw new PlumbError('Unavailable', `the ${s.name} exited at start (code ${s.child.exitCode}); ${logFile} ends with:\n${tail}`);
    }
    if (await ready(s.child.pid ?? -1).catch(() => false)) return;
    if (Date.now() > deadline) throw new PlumbError('Unavailable', `the ${s.name} was not ready after ${timeoutMs / 1000}s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** True once the worker process `pid` polls the task queue (worker identities are `<pid>@<host>`). */
export async function hasPoller(config: StackConfig, taskQueue: string, pid: number, type: 'workflow' | 'activity' = 'workflow'): Promise<boolean> {
  const connection = await Connection.connect({ ...(await temporalConnectionOptions(config)), connectTimeout: 2000 });
  try {
    const res = await connection.workflowService.describeTaskQueue({
      namespace: config.temporal.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: type === 'workflow' ? 1 : 2, // TASK_QUEUE_TYPE_WORKFLOW / _ACTIVITY
    });
    return (res.pollers ?? []).some((p) => p.identity?.startsWith(`${pid}@`));
  } finally {
    await connection.close();
  }
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
  return res?.ok ?? false;
}
