/**
 * Shared set-up for the serving tests: a temp stack (artifact store, state dir, config), fixture
 * models stored as artifacts, pools started in-process or as a real `workers/serving.ts` process,
 * and a small HTTP client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { type StackConfig, parseStackConfig } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import type { ModelRef } from '../../lib/refs.js';
import { ApiKeys, parseKeysEnv } from '../../serving/auth.js';
import { type ServingPool, startServingPool } from '../../serving/pool.js';
import { CHURN_FEATURES, modelRefOf } from '../fixtures/onnx-models.js';

export interface Stack {
  dir: string;
  configFile: string;
  config: StackConfig;
  store: LocalArtifactStore;
  cleanup(): Promise<void>;
}

export async function makeStack(serving: Record<string, unknown> = {}): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'plumb-serving-'));
  const raw = {
    temporal: { address: '127.0.0.1:1' }, // nothing listens there: the pool must serve without Temporal
    serving: { threads: 1, assignmentPollMs: 200, statsPublishMs: 200, predictionLog: { flushIntervalMs: 200 }, ...serving },
    artifacts: { dir: 'artifacts' },
  };
  const configFile = join(dir, 'stack.yml');
  await writeFile(configFile, JSON.stringify(raw));
  const config = parseStackConfig(raw, configFile);
  return { dir, configFile, config, store: new LocalArtifactStore(config.artifacts.dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function storeModel(stack: Stack, bytes: Uint8Array, features = CHURN_FEATURES): Promise<ModelRef> {
  await stack.store.put(bytes);
  return modelRefOf(bytes, features);
}

export const silentLog = createLogger({ level: 'error', write: () => {} });

export async function startPool(stack: Stack, keys = new ApiKeys([])): Promise<ServingPool> {
  return startServingPool({ config: stack.config.serving, store: stack.store, keys, log: silentLog, port: 0, pool: 'test' });
}

export const keysFrom = (env: string) => new ApiKeys(parseKeysEnv(env, 'PLUMB_API_KEYS'));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

export interface PoolProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `workers/serving.ts` and waits until /v2/health/ready answers 200. */
export async function spawnPool(stack: Stack, port: number, env: Record<string, string> = {}): Promise<PoolProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/serving.ts', '--config', stack.configFile], {
    env: { ...process.env, PLUMB_SERVING_PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`pool exited early:\n${output}`);
    const ok = await fetch(`${url}/v2/health/ready`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (i > 600) throw new Error(`pool did not become ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

export async function call(url: string, path: string, init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers };
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'),
    headers,
    ...(init.raw !== undefined ? { body: init.raw } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // non-JSON bodies (metrics) stay text
  }
  return { status: res.status, headers: res.headers, body };
}

export const row = (i: number) => ({ tenure: i % 72, monthly_charges: 20 + (i % 100), contract: ['month-to-month', 'one-year', 'two-year'][i % 3]! });
