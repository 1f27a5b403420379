import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PlumbError, badInput } from './errors.js';

/**
 * The stack file (`temporal-dev.yml` by default): where Temporal is, how the local dev server is
 * started, the task queues, the serving pool and the artifact store. Loaded once at an entry
 * point (`cli/`, `workers/`) and passed down; nothing deeper reads the environment.
 */
const Port = z.number().int().min(1).max(65535);
const SearchAttributeType = z.enum(['Keyword', 'Text', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList']);

const TemporalSection = z.strictObject({
  /** host:port of an existing cluster; when absent, plumb uses the dev server below. */
  address: z.string().min(1).optional(),
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

const DevServerSection = z.strictObject({
  host: z.string().default('127.0.0.1'),
  frontendPort: Port.default(7233),
  uiPort: Port.default(8233),
  metricsPort: Port.default(9233),
  sqliteFile: z.string().default('.plumb/temporal.sqlite'),
  searchAttributes: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), SearchAttributeType).default({}),
});

const TaskQueuesSection = z.strictObject({
  control: z.string().min(1).default('plumb-control'),
  serving: z.string().min(1).default('plumb-serving'),
});

const ServingSection = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: Port.default(8080),
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
  serving: ServingSection.prefault({}),
  artifacts: ArtifactsSection.prefault({}),
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

  const within = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  config.devServer.sqliteFile = within(config.devServer.sqliteFile);
  config.artifacts.dir = within(config.artifacts.dir);
  if (t.tls) {
    for (const k of ['ca', 'cert', 'key'] as const) {
      const v = t.tls[k];
      if (v) t.tls[k] = within(v);
    }
  }
  return { ...config, file, baseDir, usesDevServer: t.address === undefined };
}

/** `devServer.frontendPort: expected number, received string; foo: unknown key` */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (path ? `${path}.${k}` : k));
        return `unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
      }
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}

/** The address workers and clients connect to. */
export function temporalAddress(config: StackConfig): string {
  return config.temporal.address ?? `${config.devServer.host}:${config.devServer.frontendPort}`;
}
