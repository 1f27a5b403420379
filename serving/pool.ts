import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { ArtifactStore } from '../lib/artifact-store.js';
import type { StackConfig } from '../lib/config.js';
import { PlumbError, messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { Assignment } from '../lib/serving.js';
import type { ApiKeys } from './auth.js';
import { type ControlDeps, readDesired } from './control-activities.js';
import { InferenceEngine } from './engine.js';
import { createHttpHandler } from './http-api.js';
import { createServingMetrics } from './metrics.js';
import { PredictionLog } from './prediction-log.js';
import { ServedModels } from './served-models.js';
import { StatsExchange } from './stats-exchange.js';
import type { Feeds, OutputTensors } from './tensors.js';
import { VersionStats } from './version-stats.js';

export interface ServingPoolOptions {
  config: StackConfig['serving'];
  store: ArtifactStore;
  keys: ApiKeys;
  log: Logger;
  /** Overrides config.port (0 = any free port). */
  port?: number;
  /** Name of this process in prediction-log files and reports; default host-port. */
  pool?: string;
}

export interface ServingPool {
  url: string;
  pool: string;
  control: ControlDeps;
  served: ServedModels;
  /**
   * Scores feeds of the model convention on a loaded version (the stable one by default) through
   * the same threads and batcher as HTTP, without routing, statistics or the prediction log: for
   * batch scoring on the serving task queue. Rows beyond `maxBatchRows` run as one batch.
   */
  score(model: string, version: string | undefined, feeds: Feeds, rows: number): Promise<{ version: string; outputs: OutputTensors }>;
  /** Writes buffered prediction-log records now. */
  flushPredictionLog(): Promise<void>;
  /** Stops accepting connections, drains requests and batches, stops the inference threads. */
  close(): Promise<void>;
}

/**
 * Starts a serving pool in this process: inference threads, the HTTP API, and the loop that keeps
 * it converged on the desired assignment. The cached assignment is restored before the function
 * returns, so the pool serves what it served before a restart without Temporal.
 *
 *   const pool = await startServingPool({ config: config.serving, store, keys, log });
 *   console.log(pool.url); // http://127.0.0.1:8080
 */
export async function startServingPool(options: ServingPoolOptions): Promise<ServingPool> {
  const { config, store } = options;
  const log = options.log.child({ component: 'serving' });
  let engine: InferenceEngine | undefined;
  const metrics = createServingMetrics({ queueDepth: () => engine?.queueDepth ?? 0, batchesInFlight: () => engine?.batchesInFlight ?? 0 });
  engine = new InferenceEngine({
    threads: config.threads,
    intraOpThreads: config.intraOpThreads,
    maxBatchRows: config.maxBatchRows,
    maxQueueDelayMs: config.maxQueueDelayMs,
    maxQueueLength: config.maxQueueLength,
    log,
    onBatch: (rows) => metrics.batchRows.observe(rows),
  });
  await engine.start();
  const served = new ServedModels({ engine, store, stateDir: config.stateDir!, breaker: config.circuitBreaker, metrics, log });
  const stats = new VersionStats(config.statsRetentionMinutes * 60_000);
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const pool = (options.pool ?? `${hostname()}-${port}`).replace(/[^A-Za-z0-9._=-]/g, '_');
  const predictionLog = config.predictionLog.enabled
    ? new PredictionLog({
        store,
        pool,
        flushIntervalMs: config.predictionLog.flushIntervalMs,
        maxBufferedRecords: config.predictionLog.maxBufferedRecords,
        log,
        onWritten: (n) => metrics.logWritten.inc(n),
        onDropped: (n) => metrics.logDropped.inc(n),
      })
    : undefined;
  const exchange = new StatsExchange({ store, pool, stats, retentionMs: config.statsRetentionMinutes * 60_000, log });
  const control: ControlDeps = {
    served,
    store,
    assignmentKey: config.assignmentKey,
    pool,
    stats: () => exchange.collect(),
    log,
  };
  let ready = false;
  server.on('request', createHttpHandler({
    engine, served, control, keys: options.keys, metrics, stats, predictionLog,
    bodyLimitBytes: config.bodyLimitBytes, maxRowsPerRequest: config.maxRowsPerRequest, isReady: () => ready, log,
  }));
  if (!options.keys.enabled) log.warn('no API keys configured: the pool accepts every request (set serving.apiKeysFile or the keys variable)');

  await served.restore();
  ready = true;
  log.info('serving pool listening', { url: `http://${config.host}:${port}`, pool, threads: config.threads, generation: served.assignment.generation });

  // Every process converges on the published assignment (see docs/serving.md, "Desired state")
  // and publishes its statistics for the reports its peers run.
  let polling = true;
  let pollTimer: NodeJS.Timeout | undefined;
  let published = 0;
  const poll = async () => {
    if (Date.now() - published >= config.statsPublishMs) {
      published = Date.now();
      await exchange.publish().catch((err: unknown) => log.warn('could not publish serving statistics', { err: messageOf(err) }));
    }
    try {
      const desired = await readDesired(control);
      if (desired.generation > served.assignment.generation) {
        log.info('applying published assignment', { generation: desired.generation });
        await served.apply(Assignment.parse(desired), { strict: false });
      }
    } catch (err) {
      log.warn('could not read the published assignment; serving the current one', { err: messageOf(err) });
    }
    if (polling) pollTimer = setTimeout(() => void poll(), config.assignmentPollMs);
  };
  pollTimer = setTimeout(() => void poll(), config.assignmentPollMs);

  return {
    url: `http://${config.host}:${port}`,
    pool,
    control,
    served,
    async score(model, version, feeds, rows) {
      const wanted = version ?? served.routing(model)?.stable;
      const v = wanted === undefined ? undefined : served.version(model, wanted);
      if (!v) throw new PlumbError('NotFound', `${model} ${wanted === undefined ? 'has no stable version' : `version ${wanted} is not served here`}`);
      if (v.status !== 'loaded') throw new PlumbError('Unavailable', `${model} version ${v.version} failed to load: ${v.error}`);
      return { version: v.version, outputs: await engine.infer(v.key, feeds, rows, v.outputNames) };
    },
    flushPredictionLog: () => predictionLog?.flush() ?? Promise.resolve(),
    async close() {
      polling = false;
      clearTimeout(pollTimer);
      ready = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections that finish their request while draining are closed as they idle.
      const idler = setInterval(() => server.closeIdleConnections(), 50);
      const deadline = setTimeout(() => server.closeAllConnections(), 10_000);
      await closed;
      clearInterval(idler);
      clearTimeout(deadline);
      await engine.close();
      await predictionLog?.close();
      await exchange.publish().catch(() => undefined);
      log.info('serving pool stopped', { pool });
    },
  };
}
