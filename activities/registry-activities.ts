import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { PlumbError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { queryRegistry, registerWithStart, updateRegistry } from '../lib/registry-client.js';
import {
  ModelDecisionRequest,
  type ModelVersion,
  RegisterVersionRequest,
  type RegisterResult,
  type RegistryListing,
  RetireRequest,
  RollbackRequest,
} from '../lib/registry-contracts.js';
import { defineActivity } from './define-activity.js';

export interface RegistryActivityDeps {
  log: Logger;
  /** Defaults to the worker's own client (the activity context's). */
  client?: Client;
  /** Task queue of the registry workflows; defaults to the activity's own (the control queue). */
  taskQueue?: string;
  /** Passed to new registry workflows (tests force continue-as-new with a low value). */
  continueAsNewAfterEvents?: number;
}

/**
 * What workflows cannot do themselves: send Updates to a model's registry workflow
 * (`model/<name>`), starting it with the first version, and ask it what is production. Each is
 * safe to retry: a register is keyed by the calling pipeline run (a retry gets the same version
 * back), and a decision carries the time it was made, so the registry applies a repeated one once.
 */
export function createRegistryActivities(deps: RegistryActivityDeps) {
  const client = () => deps.client ?? Context.current().client;
  const caller = () => {
    const info = Context.current().info;
    const run = info.workflowExecution;
    if (!run) throw new PlumbError('BadInput', 'registry activities record lineage from the calling workflow; call them from a workflow');
    return { run, taskQueue: deps.taskQueue ?? info.taskQueue, updateId: `${run.workflowId}/${run.runId}/${info.activityId}` };
  };

  return {
    registerModelVersion: defineActivity('registerModelVersion', RegisterVersionRequest, deps.log, async (input, ctx): Promise<RegisterResult> => {
      const { run, taskQueue, updateId } = caller();
      const result = await registerWithStart(
        client(),
        taskQueue,
        input.name,
        {
          model: input.model,
          ...(input.card ? { card: input.card } : {}),
          lineage: { workflowId: run.workflowId, runId: run.runId, datasets: input.datasets, ...(input.pipeline ? { pipeline: input.pipeline } : {}) },
          metrics: input.metrics,
          by: input.by,
          ...(input.comment === undefined ? {} : { comment: input.comment }),
        },
        { updateId, ...(deps.continueAsNewAfterEvents ? { continueAsNewAfterEvents: deps.continueAsNewAfterEvents } : {}) },
      );
      ctx.log.info(result.created ? 'model version registered' : 'model version was already registered by this run', { ...result });
      return result;
    }),

    recordModelDecision: defineActivity('recordModelDecision', ModelDecisionRequest, deps.log, async (input, ctx): Promise<ModelVersion> => {
      const { model, action, ...change } = input;
      const version = await updateRegistry<ModelVersion>(client(), model, action, change, { updateId: caller().updateId });
      ctx.log.info('model decision recorded', { model, version: input.version, action, by: input.by, status: version.status });
      return version;
    }),

    rollbackModel: defineActivity('rollbackModel', RollbackRequest, deps.log, async (input, ctx): Promise<ModelVersion> => {
      const { model, ...change } = input;
      const version = await updateRegistry<ModelVersion>(client(), model, 'rollback', change, { updateId: caller().updateId });
      ctx.log.info('model rolled back', { model, production: version.version, by: input.by });
      return version;
    }),

    recordRetirement: defineActivity('recordRetirement', RetireRequest, deps.log, async (input, ctx): Promise<ModelVersion> => {
      const { model, ...change } = input;
      const version = await updateRegistry<ModelVersion>(client(), model, 'retire', change, { updateId: caller().updateId });
      ctx.log.info('model retired from production', { model, version: version.version, by: input.by });
      return version;
    }),

    readProduction: defineActivity('readProduction', ProductionQuery, deps.log, async ({ model }): Promise<ProductionAnswer> => {
      try {
        const listing = await queryRegistry<RegistryListing>(client(), model, 'list');
        return { registered: true, ...(listing.aliases.production === undefined ? {} : { production: listing.aliases.production }) };
      } catch (err) {
        if (err instanceof PlumbError && err.kind === 'NotFound') return { registered: false };
        throw err;
      }
    }),
  };
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;

/** Any name: a monitor may watch a model that was never registered (it then has no production version). */
const ProductionQuery = z.strictObject({ model: z.string().min(1) });

/** What the registry says is production: `registered` false when the model has no registry at all. */
export interface ProductionAnswer {
  registered: boolean;
  production?: number;
}
