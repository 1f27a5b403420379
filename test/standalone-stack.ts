// A Temporal dev server of its own on free ports with a throwaway database, and the stack config
// pointing at it: for scripts that run outside `npm test` (recording histories, benchmarks).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { type StackConfig, parseStackConfig } from '../lib/config.js';
import { freePort, startDevServer } from '../lib/dev-server.js';
import { SEARCH_ATTRIBUTES } from '../lib/pipeline-contracts.js';
import { PROJECT_ROOT } from '../lib/project-root.js';
import { ensureTemporalCli } from '../lib/temporal-cli.js';
import { temporalConnectionOptions } from '../lib/temporal-connection.js';

export interface StandaloneStack {
  config: StackConfig;
  client: Client;
  stop(): Promise<void>;
}

export async function startStandaloneStack(say: (line: string) => void): Promise<StandaloneStack> {
  const work = await mkdtemp(join(tmpdir(), 'plumb-standalone-'));
  const host = '127.0.0.1';
  const [frontendPort, uiPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const searchAttributes = Object.fromEntries(Object.values(SEARCH_ATTRIBUTES).map((k) => [k.name, k.type === 'BOOL' ? 'Bool' : 'Keyword']));
  const cli = await ensureTemporalCli(process.env, say);
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
    headless: true,
  });
  try {
    const config = parseStackConfig(
      {
        devServer: { host, frontendPort, uiPort, metricsPort, searchAttributes },
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
