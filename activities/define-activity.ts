import { Context } from '@temporalio/activity';
import type { z } from 'zod';
import { formatIssues } from '../lib/config.js';
import { PlumbError, toTemporalFailure } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { ProgressSink } from '../lib/progress.js';

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
    const ctx: StepContext = {
      log: log.child({
        activity: name,
        workflowId: info.workflowExecution?.workflowId,
        runId: info.workflowExecution?.runId,
        attempt: info.attempt,
      }),
      progress: (p) => activity.heartbeat(p),
      signal: activity.cancellationSignal,
    };
    try {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw new PlumbError('BadInput', `${name}: ${formatIssues(parsed.error)}`);
      return await run(parsed.data, ctx);
    } catch (err) {
      throw toTemporalFailure(err);
    }
  };
}
