// A Temporal dev server of its own on free ports with a throwaway database, and the stack config
// pointing at it: for scripts that run outside `npm test` (recording histories, benchmarks).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { REQUIRED_SEARCH_ATTRIBUTES, type StackConfig, parseStackConfig } from '../lib/config.js';
import { freePort, startDevServer } from '../lib/dev-server.js';
import { PROJECT_ROOT } from '../lib/project-root.js';
import { ensureTemporalCli } from '../lib/temporal-cli.js';
import { temporalConnectionOptions } from '../lib/temporal-connection.js';

export interface StandaloneStack {
  config: StackConfig;
  client: Client;
  stop(): Promise<void>;
}

/** A dev server on free ports with its database in `work`; the Web UI unless `headless`. */
export async function startThrowawayDevServer(work: string, say: (line: string) => void, o: { headless?: boolean } = {}) {
  const host = '127.0.0.1';
  const [frontendPort, uiPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const searchAttributes = { ...REQUIRED_SEARCH_ATTRIBUTES };
  const cli = await ensureTemporalCli(process.env, say);
  say(`starting the Temporal dev server on ${host}:${frontendPort} (UI ${uiPort})`);
  const server = await startDevServer({
    cli: cli.path,
    host,
    frontendPort,
    uiPort,
    metricsPort,
    sqliteFile: join(work, 'temporal.sqlite'),
    namespace: 'default',
    searchAttributes,
    logFile: join(work, 'temporal-server.log'),
    ...(o.headless ? { headless: true } : {}),
  });
  return { server, devServer: { host, frontendPort, uiPort, metricsPort, searchAttributes, sqliteFile: join(work, 'temporal.sqlite') } };
}

export async function startStandaloneStack(say: (line: string) => void): Promise<StandaloneStack> {
  const work = await mkdtemp(join(tmpdir(), 'plumb-standalone-'));
  const { server, devServer } = await startThrowawayDevServer(work, say, { headless: true });
  try {
    const config = parseStackConfig(
      {
        devServer,
        taskQueues: { control: 'plumb-control-standalone' },
        artifacts: { dir: join(work, 'artifacts') },
        pipelines: { dirs: [join(PROJECT_ROOT, 'test', 'fixtures', 'pipelines')] },
        stateDir: join(work, 'state'),
        logLevel: 'warn',
      },
      join(work, 'temporal-dev.yml'),
    );
    const connection = await Connection.connect(await temporalConnectionOptions(config));
    return {
      config,
      client: new Client({ connection, namespace: 'default' }),
      stop: async () => {
        await connection.close();
        await server.stop();
        await rm(work, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server.stop();
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}
