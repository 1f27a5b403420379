import { Context } from '@temporalio/activity';
import type { z } from 'zod';
import { formatIssues } from '../lib/zod-issues.js';
import { PlumbError, toTemporalFailure } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { PROGRESS_SIGNAL } from '../lib/pipeline-contracts.js';
import type { Progress, ProgressSink } from '../lib/progress.js';

const PROGRESS_SIGNAL_INTERVAL_MS = 5_000;

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
export function defineActivity<S extends z.ZodType, O>(
  name: string,
  schema: S,
  log: Logger,
  run: (input: z.output<S>, ctx: StepContext) => Promise<O>,
): (input: z.input<S>) => Promise<O> {
  return async (raw) => {
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
      activity.client.workflow
        .getHandle(execution.workflowId, execution.runId)
        .signal(PROGRESS_SIGNAL, latest)
        .catch((err: unknown) => ctx.log.debug('progress signal not delivered', { err }));
    };
    const forwardProgress = (p: Progress) => {
      latest = p;
      if (timer) return;
      timer = setTimeout(sendLatest, Math.max(0, lastSent + PROGRESS_SIGNAL_INTERVAL_MS - Date.now()));
    };
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
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw new PlumbError('BadInput', `${name}: ${formatIssues(parsed.error)}`);
      return await run(parsed.data, ctx);
    } catch (err) {
      throw toTemporalFailure(err);
    } finally {
      clearTimeout(timer);
    }
  };
}
