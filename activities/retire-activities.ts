import { Context } from '@temporalio/activity';
import { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import { SEARCH_ATTRIBUTES } from '../lib/pipeline-contracts.js';
import { ModelName } from '../lib/registry-contracts.js';
import { defineActivity } from './define-activity.js';

/**
 * What `retireModel` checks before it changes anything: a canary rollout still running for the
 * model would be left routing traffic of a model the pools no longer serve, so retiring waits
 * for it to be aborted or finished.
 */
export function createRetireActivities(deps: { log: Logger }) {
  return {
    /** Workflow ids of the model's running canary rollouts (visibility: a rollout started a moment ago may not be listed yet). */
    runningRollouts: defineActivity('runningRollouts', z.strictObject({ model: ModelName }), deps.log, async ({ model }): Promise<string[]> => {
      const ids: string[] = [];
      const query = `WorkflowType = 'canaryRollout' AND ExecutionStatus = 'Running' AND ${SEARCH_ATTRIBUTES.model.name} = '${model}'`;
      for await (const w of Context.current().client.workflow.list({ query })) ids.push(w.workflowId);
      return ids.sort();
    }),
  };
}

export type RetireActivities = ReturnType<typeof createRetireActivities>;
