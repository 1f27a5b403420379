import { ApplicationFailure, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { MonitorScheduleActivities } from '../activities/monitoring/monitor-schedule-activities.js';
import type { RetireActivities } from '../activities/retire-activities.js';
import { failureType } from '../lib/errors.js';
import { serving } from './deploy.js';
import { retireFromProduction } from './registry-steps.js';

export interface RetireModelInput {
  model: string;
  by: string;
  comment?: string;
  servingTaskQueue: string;
}

export interface RetireModelResult {
  model: string;
  /** The version that was production, now archived. */
  version: number;
  /** The pools' assignment generation without the model. */
  generation: number;
  monitor: { scheduleId: string; removed: boolean };
}

const control = proxyActivities<MonitorScheduleActivities & RetireActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['PlumbBadInput'] },
});

/**
 * Takes a model out of production entirely (`plumb models retire`): the registry archives the
 * production version and keeps no production alias, the pools drop the model (its requests get
 * 404), and its monitor Schedule is removed. It refuses while a canary rollout of the model is
 * running (abort it first). The registry goes first: when it refuses (no production version,
 * unknown model) nothing else is touched. Each later step is idempotent, so a retried or resumed
 * run finishes the job.
 */
export async function retireModel(input: RetireModelInput): Promise<RetireModelResult> {
  const { model } = input;
  const rollouts = await control.runningRollouts({ model });
  if (rollouts.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `cannot retire ${model}: a canary rollout is running (${rollouts.join(', ')}); abort it first (plumb rollout abort ${model})`,
      failureType('Conflict'),
    );
  }
  setCurrentDetails(`retiring **${model}**: taking it out of production in the registry`);
  const retired = await retireFromProduction(model, input.by, input.comment);
  setCurrentDetails(`**${model}** v${retired.version} archived; the serving pools drop the model`);
  const removed = await serving(input.servingTaskQueue).servingRemoveModel({ model });
  setCurrentDetails(`**${model}** is no longer served; removing its monitor schedule`);
  const monitor = await control.stopMonitoring({ model });
  setCurrentDetails(`**${model}** retired: v${retired.version} archived, not served, ${monitor.removed ? `${monitor.scheduleId} removed` : 'no monitor schedule'}`);
  return { model, version: retired.version, generation: removed.generation, monitor };
}

/** `retire/<model>/<who>`: one id per retirement, readable in the Temporal UI. */
export const retireWorkflowId = (model: string, who: string) => `retire/${model}/${who}`;
