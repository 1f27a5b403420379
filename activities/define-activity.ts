import { Context } from '@temporalio/activity';
import type { z } from 'zod';
import { formatIssues } from '../lib/zod-issues.js';
import { PlumbError, toTemporalFailure } from '../lib/errors.js';
import type { ArtifactStore } from '../lib/artifact-store.js';
import type { Logger } from '../lib/logger.js';
import { PROGRESS_SIGNAL } from '../lib/pipeline-contracts.js';
import type { Progress, ProgressSink } from '../lib/progress.js';
import { cacheKey, lookupCachedOutput, saveCachedOutput } from './step-cache.js';

const PROGRESS_SIGNAL_INTERVAL_MS = 5_000;
const LIVENESS_HEARTBEAT_MS = 5_000;

export interface StepContext {
  log: Logger;
  progress: ProgressSink;
  /** Aborted when Temporal cancels the activity (or the worker shuts down). */
  signal: AbortSignal | undefined;
}

/**
 * Wraps a step function as a Temporal activity: parses its input with the step's zod schema
 * (a BadInput failure naming the field otherwise), turns progress into heartbeats, gives it a
 * logger carrying the workflow and activity ids, and maps PlumbErrors to typed failures.
 *
 *   export const ingest = defineActivity(IngestInput, (input, ctx) => ingestDataset(input, deps, ctx));
 */
export interface ActivityOptions {
  /**
   * Cache the output under (name, version, input): bump `version` whenever the step's code
   * changes what it produces. Callers opt out per call with `{ cache: false }`.
   */
  cache?: {
    store: ArtifactStore;
    version: number;
    /** More to key on than the input, e.g. the size and mtime of a file the input names. */
    keyExtra?: (input: never) => Promise<unknown>;
  };
}

/** What a cached step's caller sends and gets: its input plus the cache switch; its output plus `cached`. */
export type CachedInput<I> = I & { cache?: boolean };
export type Cached<O> = O & { cached: boolean };

export function defineActivity<S extends z.ZodType, O>(
  name: string,
  schema: S,
  log: Logger,
  run: (input: z.output<S>, ctx: StepContext) => Promise<O>,
): (input: z.input<S>) => Promise<O>;
export function defineActivity<S extends z.ZodType, O extends object>(
  name: string,
  schema: S,
  log: Logger,
  run: (input: z.output<S>, ctx: StepContext) => Promise<O>,
  options: ActivityOptions & { cache: NonNullable<ActivityOptions['cache']> },
): (input: CachedInput<z.input<S>>) => Promise<Cached<O>>;
export function defineActivity<S extends z.ZodType, O>(
  name: string,
  schema: S,
  log: Logger,
  run: (input: z.output<S>, ctx: StepContext) => Promise<O>,
  options: ActivityOptions = {},
): (input: CachedInput<z.input<S>>) => Promise<O | Cached<O & object>> {
  return async (rawWithSwitch) => {
    const { cache: useCache = true, ...raw } = (rawWithSwitch ?? {}) as CachedInput<Record<string, unknown>>;
    const activity = Context.current();
    const info = activity.info;
    // Heartbeats are only visible on the pending activity; a throttled signal also puts the
    // progress into the run's current details (pipeline.ts), where the Temporal UI shows it.
    // The latest report always gets through, at most one signal per interval.
    let lastSent = 0;
    let latest: Progress | undefined;
    let timer: NodeJS.Timeout | undefined;
    const sendLatest = () => {
      const execution = info.workflowExecution;
      timer = undefined;
      if (!execution || !latest) return;
      lastSent = Date.now();
      try {
        activity.client.workflow
          .getHandle(execution.workflowId, execution.runId)
          .signal(PROGRESS_SIGNAL, latest)
          .catch((err: unknown) => ctx.log.debug('progress signal not delivered', { err }));
      } catch (err) {
        ctx.log.debug('no client to forward progress with', { err }); // e.g. a mock activity environment
      }
    };
    const forwardProgress = (p: Progress) => {
      latest = p;
      if (timer) return;
      timer = setTimeout(sendLatest, Math.max(0, lastSent + PROGRESS_SIGNAL_INTERVAL_MS - Date.now()));
    };
    // A step that cannot report progress for a while (one long DuckDB query) still heartbeats,
    // so heartbeat timeouts only catch dead workers.
    const alive = setInterval(() => activity.heartbeat(latest), LIVENESS_HEARTBEAT_MS);
    const ctx: StepContext = {
      log: log.child({
        activity: name,
        workflowId: info.workflowExecution?.workflowId,
        runId: info.workflowExecution?.runId,
        attempt: info.attempt,
      }),
      progress: (p) => {
        activity.heartbeat(p);
        forwardProgress(p);
      },
      signal: activity.cancellationSignal,
    };
    try {
      const parsed = schema.safeParse(options.cache ? raw : rawWithSwitch);
      if (!parsed.success) throw new PlumbError('BadInput', `${name}: ${formatIssues(parsed.error)}`);
      if (!options.cache) return await run(parsed.data, ctx);
      const { store, version, keyExtra } = options.cache;
      const extra = keyExtra ? await keyExtra(parsed.data as never) : undefined;
      const key = cacheKey(name, version, extra === undefined ? parsed.data : { input: parsed.data, extra });
      if (useCache) {
        const hit = await lookupCachedOutput(store, name, key);
        if (hit !== undefined) {
          ctx.log.info('reusing cached step output', { key });
          return { ...(hit as O & object), cached: true };
        }
      }
      const output = await run(parsed.data, ctx);
      await saveCachedOutput(store, name, version, key, output);
      return { ...(output as O & object), cached: false };
    } catch (err) {
      throw toTemporalFailure(err);
    } finally {
      clearTimeout(timer);
      clearInterval(alive);
    }
  };
}
