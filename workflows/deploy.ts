import { type ActivityInterfaceFor, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { MonitorScheduleActivities } from '../activities/monitoring/monitor-schedule-activities.js';
import type { MonitorFollowResult } from '../lib/monitor-contracts.js';
import type { ModelRef } from '../lib/refs.js';
import type { ServingActivities } from '../serving/control-activities.js';

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
  /** What became of the monitor Schedule `monitor/<model>`: it follows the version served. */
  monitor: MonitorFollowResult;
}

const control = proxyActivities<MonitorScheduleActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['PlumbBadInput'] },
});

export function serving(taskQueue: string): ActivityInterfaceFor<ServingActivities> {
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
 * Last, the monitor Schedule follows what the pools now serve: it watches `version` with the plan
 * `step.monitor` stored for it, or is removed when that version has none (docs/monitoring.md).
 */
export async function deployModel(input: DeployInput): Promise<DeployResult> {
  const pool = serving(input.servingTaskQueue);
  setCurrentDetails(`loading **${input.model}** v${input.version} on the serving pools`);
  await pool.servingLoadVersion({ model: input.model, version: input.version, ref: input.ref, activate: 'none' });
  setCurrentDetails(`routing all **${input.model}** traffic to v${input.version}`);
  const routed = await pool.servingSetRouting({ model: input.model, stable: input.version });
  setCurrentDetails(`**${input.model}** v${input.version} serves all traffic; pointing its monitor at it`);
  const monitor = await control.followProduction({ model: input.model, version: input.version });
  setCurrentDetails(`**${input.model}** v${input.version} serves all traffic\n\n${monitor.reason}`);
  return { model: input.model, version: input.version, generation: routed.generation, monitor };
}

/** `deploy/<model>/v<version>/<who>`: one id per deployment, readable in the Temporal UI. */
export const deployWorkflowId = (model: string, version: number, who: string) => `deploy/${model}/v${version}/${who}`;
