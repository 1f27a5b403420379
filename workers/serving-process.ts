import { NativeConnection, Worker } from '@temporalio/worker';
import { LocalArtifactStore } from '../lib/artifact-store.js';
import type { StackConfig } from '../lib/config.js';
import { messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { temporalConnectionOptions } from '../lib/temporal-connection.js';
import { loadApiKeys } from '../serving/auth.js';
import { createBatchChunkActivities } from '../serving/batch-chunk.js';
import { createServingActivities } from '../serving/control-activities.js';
import { startServingPool } from '../serving/pool.js';
import { installTemporalRuntime } from './temporal-runtime.js';

/**
 * One serving-pool process: HTTP predictions first (restored from the cached assignment), then a
 * Temporal worker on the serving task queue for the control activities. Temporal being down never
 * stops predictions: the worker keeps reconnecting in the background. Resolves after SIGINT,
 * SIGTERM or the parent `plumb dev` going away, once everything has stopped.
 */
export async function runServingProcess(config: StackConfig, log: Logger): Promise<void> {
  installTemporalRuntime(log);
  const keys = await loadApiKeys({ file: config.serving.apiKeysFile, envValue: process.env[config.serving.apiKeysEnv], envName: config.serving.apiKeysEnv });
  const store = new LocalArtifactStore(config.artifacts.dir);
  const pool = await startServingPool({ config: config.serving, store, keys, log });

  let stopping = false;
  let wakeUp: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (wakeUp = resolve));
  let worker: Worker | undefined;

  const runTemporalWorker = async () => {
    let delayMs = 1000;
    while (!stopping) {
      let connection: NativeConnection | undefined;
      try {
        connection = await NativeConnection.connect(await temporalConnectionOptions(config));
        worker = await Worker.create({
          connection,
          namespace: config.temporal.namespace,
          taskQueue: config.taskQueues.serving,
          activities: { ...createServingActivities(pool.control, log), ...createBatchChunkActivities(pool, store, log) },
        });
        log.info('temporal worker started', { taskQueue: config.taskQueues.serving });
        delayMs = 1000;
        await worker.run();
      } catch (err) {
        if (stopping) break;
        log.warn('temporal unreachable; serving continues, retrying', { err: messageOf(err), retryInMs: delayMs });
      } finally {
        worker = undefined;
        await connection?.close().catch(() => undefined);
      }
      if (!stopping) await Promise.race([stopped, new Promise((r) => setTimeout(r, delayMs))]);
      delayMs = Math.min(delayMs * 2, 30_000);
    }
  };
  const temporal = runTemporalWorker();

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('disconnect', () => resolve('parent gone'));
  });
  stopping = true;
  wakeUp();
  log.info('shutting down', { signal });
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await Promise.race([temporal, new Promise((r) => setTimeout(r, 15_000))]);
  await pool.close();
}
