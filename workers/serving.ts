/**
 * The serving pool process: HTTP predictions first (restored from the cached assignment), then a
 * Temporal worker on the serving task queue for the control activities. Temporal being down never
 * stops predictions: the worker keeps reconnecting in the background.
 *
 *   node --import tsx workers/serving.ts [--config temporal-dev.yml]
 */
import { NativeConnection, type NativeConnectionOptions, Worker } from '@temporalio/worker';
import { LocalArtifactStore } from '../lib/artifact-store.js';
import { loadStackConfig } from '../lib/config.js';
import { messageOf } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { temporalConnectionOptions } from '../lib/temporal-connection.js';
import { loadApiKeys } from '../serving/auth.js';
import { createServingActivities } from '../serving/control-activities.js';
import { startServingPool } from '../serving/pool.js';

const args = process.argv.slice(2);
const flag = args.indexOf('--config');
const configFile = flag >= 0 ? args[flag + 1] : process.env.PLUMB_CONFIG ?? 'temporal-dev.yml';
const { config, log, pool } = await (async () => {
  const config = await loadStackConfig(configFile);
  const log = createLogger({ level: config.logLevel, context: { process: 'serving', pid: process.pid } });
  const keys = await loadApiKeys({ file: config.serving.apiKeysFile, envValue: process.env[config.serving.apiKeysEnv], envName: config.serving.apiKeysEnv });
  const pool = await startServingPool({ config: config.serving, store: new LocalArtifactStore(config.artifacts.dir), keys, log });
  return { config, log, pool };
})().catch((err: unknown) => {
  createLogger({ context: { process: 'serving', pid: process.pid } }).error('serving pool failed to start', { err: messageOf(err) });
  process.exit(1);
});

let stopping = false;
let wakeUp: () => void = () => {};
const stopped = new Promise<void>((resolve) => (wakeUp = resolve));
let worker: Worker | undefined;
let connection: NativeConnection | undefined;

async function runTemporalWorker(): Promise<void> {
  let delayMs = 1000;
  while (!stopping) {
    try {
      // temporalConnectionOptions only ever sets a string apiKey, which native connections accept.
      connection = await NativeConnection.connect((await temporalConnectionOptions(config)) as NativeConnectionOptions);
      worker = await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.taskQueues.serving,
        activities: createServingActivities(pool.control, log),
      });
      log.info('temporal worker started', { taskQueue: config.taskQueues.serving });
      delayMs = 1000;
      await worker.run();
      worker = undefined;
    } catch (err) {
      worker = undefined;
      if (stopping) break;
      log.warn('temporal unreachable; serving continues, retrying', { err: messageOf(err), retryInMs: delayMs });
    }
    await connection?.close().catch(() => undefined);
    connection = undefined;
    if (!stopping) await Promise.race([stopped, new Promise((r) => setTimeout(r, delayMs))]);
    delayMs = Math.min(delayMs * 2, 30_000);
  }
}

const temporal = runTemporalWorker();

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  wakeUp();
  log.info('shutting down', { signal });
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await Promise.race([temporal, new Promise((r) => setTimeout(r, 15_000))]);
  await pool.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
