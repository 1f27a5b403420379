import { type ActivityInterfaceFor, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { ServingActivities } from '../serving/control-activities.js';
import type { ModelRef } from '../lib/refs.js';

export interface DeployInput {
  model: string;
  version: number;
  ref: ModelRef;
  servingTaskQueue: string;
}

export interface DeployResult {
  model: string;
  version: number;
  generation: number;
}

function serving(taskQueue: string): ActivityInterfaceFor<ServingActivities> {
  return proxyActivities<ServingActivities>({
    taskQueue,
    startToCloseTimeout: '5 minutes',
    retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['PlumbBadInput', 'PlumbNotFound', 'PlumbConflict'] },
  });
}

/**
 * Makes the serving pools serve `version` as the stable version of `model`: load it (fetch,
 * verify, warm up on every inference thread), then move all traffic to it. The previous version
 * stays loaded, so a rollback is instant. Concurrent deploys are safe: the pools' assignment
 * document is versioned and each change is a compare-and-set on it (docs/serving.md).
 */
export async function deployModel(input: DeployInput): Promise<DeployResult> {
  const pool = serving(input.servingTaskQueue);
  setCurrentDetails(`loading **${input.model}** v${input.version} on the serving pools`);
  await pool.servingLoadVersion({ model: input.model, version: input.version, ref: input.ref, activate: 'none' });
  setCurrentDetails(`routing all **${input.model}** traffic to v${input.version}`);
  const routed = await pool.servingSetRouting({ model: input.model, stable: input.version });
  setCurrentDetails(`**${input.model}** v${input.version} serves all traffic`);
  return { model: input.model, version: input.version, generation: routed.generation };
}

/** `deploy/<model>/v<version>/<who>`: one id per deployment, readable in the Temporal UI. */
export const deployWorkflowId = (model: string, version: number, who: string) => `deploy/${model}/v${version}/${who}`;
