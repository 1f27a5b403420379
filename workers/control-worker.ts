import { NativeConnection, Worker } from '@temporalio/worker';
import { register } from 'prom-client';
import { createControlActivities } from '../activities/control-activities.js';
import { LocalArtifactStore } from '../lib/artifact-store.js';
import type { StackConfig } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import { temporalConnectionOptions } from '../lib/temporal-connection.js';
import { connectWithRetry } from './connect.js';
import { startMetricsServer } from './metrics-server.js';
import { installTemporalRuntime } from './temporal-runtime.js';
import { writeWorkflowEntry } from './workflow-entry.js';

export interface ControlWorkerOptions {
  config: StackConfig;
  log: Logger;
  /** Replaces the real activities (workflow tests with test activities). */
  activities?: object;
  /** How long to keep trying to reach Temporal before giving up (default: forever). */
  connectTimeoutMs?: number;
}

/**
 * The control worker: every workflow (pipelines, registry, rollouts) plus the data, training,
 * evaluation and registry activities, on task queue `plumb-control`. Start more of them, on more
 * machines, to scale out.
 */
export async function createControlWorker(o: ControlWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  installTemporalRuntime(o.log);
  const connection = await connectWithRetry(
    () => temporalConnectionOptions(o.config).then((opts) => NativeConnection.connect(opts)),
    o.log,
    o.connectTimeoutMs,
  );
  const store = new LocalArtifactStore(o.config.artifacts.dir);
  const worker = await Worker.create({
    connection,
    namespace: o.config.temporal.namespace,
    taskQueue: o.config.taskQueues.control,
    workflowsPath: await writeWorkflowEntry(o.config.pipelines.dirs),
    activities: o.activities ?? createControlActivities({ store, log: o.log, config: o.config }),
  });
  return { worker, connection };
}

/** Runs one control worker until SIGINT/SIGTERM (or the parent `plumb dev` going away). */
export async function runControlWorker(config: StackConfig, log: Logger): Promise<void> {
  const port = config.controlWorker.metricsPort;
  const metrics = port === undefined ? undefined : await startMetricsServer(register, config.controlWorker.host, port, log);
  const { worker, connection } = await createControlWorker({ config, log });
  process.once('disconnect', () => worker.shutdown()); // our `plumb dev` parent died
  log.info('control worker started', { taskQueue: config.taskQueues.control, namespace: config.temporal.namespace });
  await worker.run(); // returns after SIGINT/SIGTERM, once running activities have finished or been cancelled
  await connection.close();
  metrics?.close();
  log.info('control worker stopped');
}
