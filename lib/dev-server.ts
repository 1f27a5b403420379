import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { PlumbError } from './errors.js';

export interface NamedPort {
  /** How the user sets it, e.g. `devServer.frontendPort (PLUMB_TEMPORAL_PORT)`. */
  name: string;
  host: string;
  port: number;
}

/** Fails with one message naming every port already taken, and how to change it. */
export async function assertPortsFree(ports: NamedPort[]): Promise<void> {
  const taken: NamedPort[] = [];
  for (const p of ports) if (!(await isPortFree(p.host, p.port))) taken.push(p);
  if (taken.length === 0) return;
  const list = taken.map((p) => `${p.port} (${p.name})`).join(', ');
  throw new PlumbError(
    'Conflict',
    `port${taken.length > 1 ? 's' : ''} already in use: ${list}. Is another plumb stack running (plumb down)? ` +
      'Otherwise change the port in the stack file or with the environment variable named.',
  );
}

export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Ports this process handed out, so two calls never return the same one before it is bound. */
const handedOut = new Set<number>();

/**
 * A free TCP port on the host, for tests and throwaway servers. Chosen at random below the
 * kernel's ephemeral range (32768 and up on Linux) rather than asked of the kernel with port 0: a
 * port from that range, free when checked, can become the source port of any outgoing connection
 * before the server binds it (a stack test lost its serving port that way).
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port) || !(await isPortFree(host, port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new PlumbError('Conflict', 'no free TCP port between 20000 and 32000 on ' + host);
}

export interface DevServerOptions {
  cli: string;
  host: string;
  frontendPort: number;
  uiPort: number;
  metricsPort: number;
  sqliteFile: string;
  namespace: string;
  searchAttributes: Record<string, string>;
  /** Server output goes here, not to the terminal. */
  logFile: string;
  headless?: boolean;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` and resolves once its frontend answers. */
export async function startDevServer(o: DevServerOptions, readyTimeoutMs = 60_000): Promise<DevServer> {
  await mkdir(dirname(o.sqliteFile), { recursive: true });
  await mkdir(dirname(o.logFile), { recursive: true });
  const args = [
    'server', 'start-dev',
    '--ip', o.host,
    '--port', String(o.frontendPort),
    '--ui-port', String(o.uiPort),
    '--metrics-port', String(o.metricsPort),
    '--db-filename', o.sqliteFile,
    '--ui-disable-news-fetch',
    '--log-level', 'warn',
    ...(o.namespace === 'default' ? [] : ['--namespace', o.namespace]),
    ...Object.entries(o.searchAttributes).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
    ...(o.headless ? ['--headless'] : []),
  ];
  const log = createWriteStream(o.logFile, { flags: 'a' });
  await new Promise((resolve) => log.once('open', resolve));
  const child = spawn(o.cli, args, { stdio: ['ignore', log, log] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = `${o.host}:${o.frontendPort}`;
  const stop = () => stopProcess(child, exited);

  const deadline = Date.now() + readyTimeoutMs;
  let early: number | null | undefined;
  void exited.then((code) => (early = code));
  for (;;) {
    if (early !== undefined) {
      const tail = (await readFile(o.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      throw new PlumbError('Unavailable', `the Temporal dev server exited with code ${early} at start; its log (${o.logFile}) ends with:\n${tail}`);
    }
    if (await answers(address, o.namespace)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new PlumbError('Unavailable', `the Temporal dev server did not answer on ${address} within ${readyTimeoutMs / 1000}s; see ${o.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { address, uiUrl: `http://${o.host}:${o.uiPort}`, process: child, stop };
}

async function answers(address: string, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => {});
  }
}

/** SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
export async function stopProcess(child: ChildProcess, exited: Promise<unknown>, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
