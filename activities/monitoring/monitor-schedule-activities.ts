import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { ArtifactStore } from '../../lib/artifact-store.js';
import type { StackConfig } from '../../lib/config.js';
import { messageOf } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { MonitorInput, type MonitorFollowResult, MonitorPlan, monitorPlanKey, monitorScheduleId } from '../../lib/monitor-contracts.js';
import { type ScheduleInfo, createMonitorSchedule, deleteMonitorSchedule } from '../../lib/schedules.js';
import { formatIssues } from '../../lib/zod-issues.js';
import { defineActivity } from '../define-activity.js';

/**
 * The monitor Schedule follows production: `step.monitor` stores the plan of the version it
 * watches and schedules it; whenever the pools start serving another production version
 * (`deployModel`, after a promotion or a rollback) the schedule is pointed at that version's own
 * stored plan, or removed when it has none; retiring a model removes it. Plain functions (the CLI
 * and tests call them directly); `createMonitorScheduleActivities` wraps them for the control worker.
 */
export interface MonitorScheduleDeps {
  client: Client;
  config: StackConfig;
  store: ArtifactStore;
  log: Logger;
}

const MonitoredModel = MonitorInput.shape.model;

export const FollowProductionInput = z.strictObject({
  model: MonitoredModel,
  /** The version the pools now serve as production. */
  version: z.number().int().positive(),
});
export type FollowProductionInput = z.infer<typeof FollowProductionInput>;

export const StopMonitoringInput = z.strictObject({ model: MonitoredModel });

/** Stores the version's plan (`monitor/<model>/v<n>/input.json`), then creates or updates `monitor/<model>`. */
export async function scheduleMonitoring(deps: MonitorScheduleDeps, plan: MonitorPlan): Promise<ScheduleInfo> {
  const { monitor, everySeconds } = plan;
  await deps.store.putNamed(monitorPlanKey(monitor.model, monitor.version), JSON.stringify(plan, null, 2));
  const info = await createMonitorSchedule(deps.client, deps.config, monitor, everySeconds ? { everySeconds } : {});
  deps.log.info('monitoring scheduled', { model: monitor.model, version: monitor.version, scheduleId: info.id, everySeconds: info.everySeconds });
  return info;
}

/**
 * Points `monitor/<model>` at `version`, now production: with the plan stored when that version
 * was scheduled, else removes it, so the schedule never checks a version the pools no longer
 * serve. A plan that cannot be read counts as none (and is logged): the old version's schedule
 * would be wrong either way.
 */
export async function followProduction(deps: MonitorScheduleDeps, input: FollowProductionInput): Promise<MonitorFollowResult> {
  const { model, version } = input;
  const scheduleId = monitorScheduleId(model);
  const base = { model, version: String(version), scheduleId };
  const key = monitorPlanKey(model, version);
  const plan = await readPlan(deps, key);
  if (plan.ok) {
    const info = await createMonitorSchedule(deps.client, deps.config, plan.plan.monitor, plan.plan.everySeconds ? { everySeconds: plan.plan.everySeconds } : {});
    const reason = `${scheduleId} watches v${version} with the plan stored when it was scheduled (every ${info.everySeconds ?? '?'} s)`;
    deps.log.info('monitor schedule follows production', { ...base, everySeconds: info.everySeconds });
    return { ...base, schedule: 'updated', reason };
  }
  const removed = await deleteMonitorSchedule(deps.client, model);
  const why = plan.problem ?? `v${version} has no stored monitor plan (it was never scheduled with step.monitor)`;
  const reason = removed ? `${scheduleId} removed: ${why}` : `no monitor schedule: ${why}`;
  deps.log.info(removed ? 'monitor schedule removed: the new production version has no monitor plan' : 'no monitor schedule for the new production version', { ...base, reason });
  return { ...base, schedule: removed ? 'removed' : 'absent', reason };
}

/** Removes `monitor/<model>` (the model retired); a missing one is fine. */
export async function stopMonitoring(deps: MonitorScheduleDeps, model: string): Promise<{ scheduleId: string; removed: boolean }> {
  const removed = await deleteMonitorSchedule(deps.client, model);
  deps.log.info(removed ? 'monitor schedule removed' : 'no monitor schedule to remove', { model });
  return { scheduleId: monitorScheduleId(model), removed };
}

async function readPlan(deps: MonitorScheduleDeps, key: string): Promise<{ ok: true; plan: MonitorPlan } | { ok: false; problem?: string }> {
  const raw = await deps.store.getNamed(key);
  if (!raw) return { ok: false };
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    deps.log.error('stored monitor plan is not JSON', { key, err: messageOf(err) });
    return { ok: false, problem: `the stored monitor plan ${key} is not JSON` };
  }
  const parsed = MonitorPlan.safeParse(json);
  if (parsed.success) return { ok: true, plan: parsed.data };
  deps.log.error('stored monitor plan does not fit', { key, issues: formatIssues(parsed.error) });
  return { ok: false, problem: `the stored monitor plan ${key} does not fit: ${formatIssues(parsed.error)}` };
}

export function createMonitorScheduleActivities(deps: { config: StackConfig; store: ArtifactStore; log: Logger }) {
  const withClient = (log: Logger): MonitorScheduleDeps => ({ ...deps, log, client: Context.current().client });
  return {
    /** Stores the plan of a version going to production and creates (or updates in place) `monitor/<model>`. */
    scheduleMonitoring: defineActivity('scheduleMonitoring', MonitorPlan, deps.log, (plan, ctx) => scheduleMonitoring(withClient(ctx.log), plan)),
    /** Points `monitor/<model>` at the version the pools now serve, or removes it (the last step of `deployModel`). */
    followProduction: defineActivity('followProduction', FollowProductionInput, deps.log, (input, ctx) => followProduction(withClient(ctx.log), input)),
    /** Removes `monitor/<model>` (the model retired). */
    stopMonitoring: defineActivity('stopMonitoring', StopMonitoringInput, deps.log, (input, ctx) => stopMonitoring(withClient(ctx.log), input.model)),
  };
}

export type MonitorScheduleActivities = ReturnType<typeof createMonitorScheduleActivities>;
