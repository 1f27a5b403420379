import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PlumbError, badInput } from './errors.js';
import { SEARCH_ATTRIBUTES } from './pipeline-contracts.js';
import { formatIssues } from './zod-issues.js';

/**
 * The stack file (`temporal-dev.yml` by default): where Temporal is, how the local dev server is
 * started, the task queues, the serving pool and the artifact store. Loaded once at an entry
 * point (`cli/`, `workers/`) and passed down; nothing deeper reads the environment.
 */
const Port = z.number().int().min(1).max(65535);
const SearchAttributeType = z.enum(['Keyword', 'Text', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList']);
const SEARCH_ATTRIBUTE_TYPE_NAMES: Record<string, z.infer<typeof SearchAttributeType>> = {
  KEYWORD: 'Keyword',
  TEXT: 'Text',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

const TemporalSection = z.strictObject({
  /** host:port of an existing cluster; when absent, plumb uses the dev server below. */
  address: z.string().min(1).optional(),
  /** Web UI of that cluster, for links to runs (the dev server's UI is known). */
  uiUrl: z.url().optional(),
  namespace: z.string().min(1).default('default'),
  apiKey: z.string().min(1).optional(),
  tls: z
    .strictObject({
      ca: z.string().optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
      serverName: z.string().optional(),
    })
    .optional(),
});

/** The search attributes plumb sets on runs, as the stack file declares them. */
export const REQUIRED_SEARCH_ATTRIBUTES: Record<string, z.infer<typeof SearchAttributeType>> = Object.fromEntries(
  Object.values(SEARCH_ATTRIBUTES).map((k) => [k.name, SEARCH_ATTRIBUTE_TYPE_NAMES[k.type]!]),
);

const DevServerSection = z.strictObject({
  host: z.string().default('127.0.0.1'),
  frontendPort: Port.default(7233),
  uiPort: Port.default(8233),
  metricsPort: Port.default(9233),
  sqliteFile: z.string().default('.plumb/temporal.sqlite'),
  searchAttributes: z
    .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), SearchAttributeType)
    .default(() => ({ ...REQUIRED_SEARCH_ATTRIBUTES })),
});

const ControlWorkerSection = z.strictObject({
  host: z.string().default('127.0.0.1'),
  /** Prometheus `/metrics` of a control worker (process metrics, latest drift scores); off when absent. */
  metricsPort: Port.optional(),
});

const TaskQueuesSection = z.strictObject({
  control: z.string().min(1).default('plumb-control'),
  serving: z.string().min(1).default('plumb-serving'),
});

const ServingSection = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: Port.default(8080),
  /** Inference worker threads, each with its own onnxruntime session per loaded version. */
  threads: z.number().int().min(1).max(256).default(() => Math.max(1, availableParallelism() - 1)),
  /** onnxruntime intra-op threads per session; 1 because parallelism comes from the worker threads. */
  intraOpThreads: z.number().int().min(1).max(64).default(1),
  /** Rows merged into one session.run; a single larger request still runs alone, never split. */
  maxBatchRows: z.number().int().min(1).default(512),
  /** How long a queued request may wait for companions when a thread is free. 0: never wait;
   *  batches still form from what queues while every thread is busy. */
  maxQueueDelayMs: z.number().min(0).max(1000).default(0),
  /** Requests waiting per model version beyond which new ones get 503 + Retry-After. */
  maxQueueLength: z.number().int().min(1).default(1024),
  maxRowsPerRequest: z.number().int().min(1).default(10_000),
  bodyLimitBytes: z.number().int().min(1024).default(8 * 1024 * 1024),
  /** API keys: a YAML/JSON file `[{key, rights: [predict, admin], name?}]` and/or an environment
   *  variable `key:predict+admin,key2:predict`. With neither, the pool runs without auth. */
  apiKeysFile: z.string().optional(),
  apiKeysEnv: z.string().default('PLUMB_API_KEYS'),
  /** Where the pool caches its applied assignment; default `.plumb/serving-<port>`. */
  stateDir: z.string().optional(),
  /** Named key of the desired-assignment document in the artifact store, shared by all pools. */
  assignmentKey: z.string().default('serving/assignment.json'),
  assignmentPollMs: z.number().int().min(50).default(2000),
  circuitBreaker: z
    .strictObject({
      /** Outcomes remembered per version. */
      window: z.number().int().min(1).default(20),
      /** Failures within the window that open the breaker. */
      failures: z.number().int().min(1).default(10),
      cooldownMs: z.number().int().min(0).default(30_000),
    })
    .prefault({}),
  predictionLog: z
    .strictObject({
      enabled: z.boolean().default(true),
      flushIntervalMs: z.number().int().min(10).default(5000),
      /** Records held in memory at most; beyond it new records are dropped and counted. */
      maxBufferedRecords: z.number().int().min(1).default(100_000),
    })
    .prefault({}),
  /** How often a pool publishes its statistics for reports run by its peers. */
  statsPublishMs: z.number().int().min(50).default(10_000),
  /** How long per-version statistics are kept for metric reports. */
  statsRetentionMinutes: z.number().int().min(1).default(180),
});

const PipelinesSection = z.strictObject({
  /** Folders whose top-level `<name>.ts` files are pipelines (see workflows/pipeline.ts). */
  dirs: z.array(z.string()).min(1).default(['pipelines']),
});

const ArtifactsSection = z.strictObject({
  dir: z.string().default('.plumb/artifacts'),
});

const MonitoringSection = z.strictObject({
  /** Drift and performance alerts are POSTed here as JSON (besides the JSON log) when set. */
  alertWebhookUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** An ongoing problem alerts once, then again after this many minutes. */
  alertRepeatMinutes: z.number().int().positive().default(360),
});

export const StackConfigFile = z.strictObject({
  temporal: TemporalSection.default({ namespace: 'default' }),
  devServer: DevServerSection.prefault({}),
  taskQueues: TaskQueuesSection.prefault({}),
  controlWorker: ControlWorkerSection.prefault({}),
  serving: ServingSection.prefault({}),
  artifacts: ArtifactsSection.prefault({}),
  pipelines: PipelinesSection.prefault({}),
  /** Pid/state files and process logs of a running stack. */
  stateDir: z.string().default('.plumb'),
  monitoring: MonitoringSection.prefault({}),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type StackConfig = z.infer<typeof StackConfigFile> & {
  /** The file the config came from (or the default path when there was none). */
  file: string;
  /** Directory relative paths in the file are resolved against. */
  baseDir: string;
  /** The dev server is used when no external Temporal address is configured. */
  usesDevServer: boolean;
};

export const DEFAULT_CONFIG_FILE = 'temporal-dev.yml';

/** Environment variables that override the file, Temporal's standard ones included. */
export type Env = Record<string, string | undefined>;

export async function loadStackConfig(file = DEFAULT_CONFIG_FILE, env: Env = process.env): Promise<StackConfig> {
  const path = resolve(file);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw badInput(`stack file not found: ${path} (pass --config <file>)`);
    throw err;
  });
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw badInput(`${path}: not valid YAML: ${(err as Error).message}`);
  }
  return parseStackConfig(raw, path, env);
}

export function parseStackConfig(raw: unknown, file: string, env: Env = {}): StackConfig {
  const parsed = StackConfigFile.safeParse(raw);
  if (!parsed.success) throw new PlumbError('BadInput', `${file}: ${formatIssues(parsed.error)}`);
  const config = parsed.data;
  const baseDir = dirname(file);

  const ports: [string, (port: number) => void][] = [
    ['PLUMB_TEMPORAL_PORT', (p) => (config.devServer.frontendPort = p)],
    ['PLUMB_UI_PORT', (p) => (config.devServer.uiPort = p)],
    ['PLUMB_METRICS_PORT', (p) => (config.devServer.metricsPort = p)],
    ['PLUMB_SERVING_PORT', (p) => (config.serving.port = p)],
    ['PLUMB_WORKER_METRICS_PORT', (p) => (config.controlWorker.metricsPort = p)],
  ];
  for (const [name, set] of ports) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const port = Port.safeParse(Number(value));
    if (!/^\d+$/.test(value) || !port.success) throw badInput(`${name}="${value}": expected a port number 1-65535`);
    set(port.data);
  }

  const t = config.temporal;
  if (env.TEMPORAL_ADDRESS) t.address = env.TEMPORAL_ADDRESS;
  if (env.TEMPORAL_NAMESPACE) t.namespace = env.TEMPORAL_NAMESPACE;
  if (env.TEMPORAL_API_KEY) t.apiKey = env.TEMPORAL_API_KEY;
  const tlsFromEnv = {
    ca: env.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
    cert: env.TEMPORAL_TLS_CLIENT_CERT_PATH,
    key: env.TEMPORAL_TLS_CLIENT_KEY_PATH,
    serverName: env.TEMPORAL_TLS_SERVER_NAME,
  };
  if (Object.values(tlsFromEnv).some(Boolean) || env.TEMPORAL_TLS === 'true') {
    t.tls = { ...t.tls, ...Object.fromEntries(Object.entries(tlsFromEnv).filter(([, v]) => v)) };
  }

  for (const key of Object.values(SEARCH_ATTRIBUTES)) {
    const declared = config.devServer.searchAttributes[key.name];
    const expected = SEARCH_ATTRIBUTE_TYPE_NAMES[key.type];
    if (declared !== expected) {
      throw badInput(`${file}: devServer.searchAttributes.${key.name}: plumb needs it, declared as ${expected}`);
    }
  }

  const within = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  config.devServer.sqliteFile = within(config.devServer.sqliteFile);
  config.artifacts.dir = within(config.artifacts.dir);
  config.stateDir = within(config.stateDir);
  config.pipelines.dirs = config.pipelines.dirs.map(within);
  config.serving.stateDir = config.serving.stateDir ? within(config.serving.stateDir) : join(config.stateDir, `serving-${config.serving.port}`);
  if (config.serving.apiKeysFile) config.serving.apiKeysFile = within(config.serving.apiKeysFile);
  if (t.tls) {
    for (const k of ['ca', 'cert', 'key'] as const) {
      const v = t.tls[k];
      if (v) t.tls[k] = within(v);
    }
  }
  return { ...config, file, baseDir, usesDevServer: t.address === undefined };
}

/** The Temporal Web UI, when known. */
export function temporalUiUrl(config: StackConfig): string | undefined {
  return config.usesDevServer ? `http://${config.devServer.host}:${config.devServer.uiPort}` : config.temporal.uiUrl;
}

/** The address workers and clients connect to. */
export function temporalAddress(config: StackConfig): string {
  return config.temporal.address ?? `${config.devServer.host}:${config.devServer.frontendPort}`;
}
