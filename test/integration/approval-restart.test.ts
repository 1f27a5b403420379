// The approval wait survives a restart of the Temporal server: a dev server of its own (the
// shared one serves the other test files), stopped while a run waits at the gate and started
// again on the same SQLite file.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { createRegistryActivities } from '../../activities/registry-activities.js';
import { APPROVAL_HANDLERS, type ApprovalDecision, type ApprovalState } from '../../lib/approval-contracts.js';
import { type StackConfig, parseStackConfig } from '../../lib/config.js';
import { type DevServer, freePort, startDevServer } from '../../lib/dev-server.js';
import { createLogger } from '../../lib/logger.js';
import { SEARCH_ATTRIBUTES } from '../../lib/pipeline-contracts.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { queryRegistry } from '../../lib/registry-client.js';
import type { RegistryListing } from '../../lib/registry-contracts.js';
import { ensureTemporalCli } from '../../lib/temporal-cli.js';
import { temporalConnectionOptions } from '../../lib/temporal-connection.js';
import { createControlWorker } from '../../workers/control-worker.js';

const log = createLogger({ level: 'error' });

describe('approval gate across a Temporal server restart', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  test('a run waiting at the gate continues after the server restarts and is approved, with one registry version', async () => {
    const dir = join(process.env.PLUMB_TEST_WORKDIR ?? '/tmp', 'suites', `restart-${process.pid}`);
    const host = '127.0.0.1';
    const ports = { frontendPort: await freePort(), uiPort: await freePort(), metricsPort: await freePort() };
    const searchAttributes = Object.fromEntries(Object.values(SEARCH_ATTRIBUTES).map((k) => [k.name, k.type === 'BOOL' ? 'Bool' : 'Keyword']));
    const cli = await ensureTemporalCli(process.env, () => {});
    const serve = async (): Promise<DevServer> => {
      const server = await startDevServer({ cli: cli.path, host, ...ports, sqliteFile: join(dir, 'temporal.sqlite'), namespace: 'default', searchAttributes, logFile: join(dir, 'temporal.log'), headless: true });
      cleanups.push(() => server.stop());
      return server;
    };
    const config: StackConfig = parseStackConfig(
      {
        devServer: { host, ...ports, searchAttributes },
        taskQueues: { control: 'control-restart' },
        artifacts: { dir: join(dir, 'artifacts') },
        pipelines: { dirs: [join(PROJECT_ROOT, 'test', 'fixtures', 'pipelines')] },
        stateDir: join(dir, 'state'),
      },
      join(dir, 'temporal-dev.yml'),
    );
    const connect = async () => {
      const connection = await Connection.connect(await temporalConnectionOptions(config));
      cleanups.push(() => connection.close());
      return new Client({ connection, namespace: 'default' });
    };
    const startWorker = async () => {
      const { worker, connection } = await createControlWorker({ config, log, activities: createRegistryActivities({ log }) });
      const running = worker.run();
      const stop = async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        await connection.close();
      };
      cleanups.push(stop);
      return stop;
    };

    const server = await serve();
    let client = await connect();
    const stopWorker = await startWorker();
    const handle = await client.workflow.start('gated', {
      taskQueue: config.taskQueues.control,
      workflowId: 'gated-restart',
      args: [{ params: { model: 'restart', approvers: ['ana'] } }],
    });
    while (!(await handle.query<ApprovalState | null>(APPROVAL_HANDLERS.state).catch(() => null))) await new Promise((r) => setTimeout(r, 100));

    await stopWorker();
    await server.stop();
    await serve();
    client = await connect();
    await startWorker();
    await client.workflow.getHandle('gated-restart').signal(APPROVAL_HANDLERS.approve, { by: 'ana', comment: 'after the restart' });
    const { result } = (await client.workflow.getHandle('gated-restart').result()) as { result: { version: number; decision: ApprovalDecision } };
    assert.deepEqual([result.version, result.decision.approved, result.decision.by, result.decision.comment], [1, true, 'ana', 'after the restart']);
    const listing = await queryRegistry<RegistryListing>(client, 'restart', 'list');
    assert.deepEqual(
      listing.versions.map((v) => [v.version, v.status]),
      [[1, 'approved']],
    );
  });
});
