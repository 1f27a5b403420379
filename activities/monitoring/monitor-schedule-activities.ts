import { Context } from '@temporalio/activity';
import { z } from 'zod';
import type { StackConfig } from '../../lib/config.js';
import type { Logger } from '../../lib/logger.js';
import { MonitorInput } from '../../lib/monitor-contracts.js';
import { createMonitorSchedule } from '../../lib/schedules.js';
import { defineActivity } from '../define-activity.js';

export const ScheduleMonitoringInput = z.strictObject({
  monitor: MonitorInput,
  /** Seconds between checks; the window length by default. */
  everySeconds: z.number().int().positive().optional(),
});

/** Creates (or updates in place) the Temporal Schedule `monitor/<model>` when a version goes to production. */
export function createMonitorScheduleActivities(deps: { config: StackConfig; log: Logger }) {
  return {
    scheduleMonitoring: defineActivity('scheduleMonitoring', ScheduleMonitoringInput, deps.log, async (input, ctx) => {
      const info = await createMonitorSchedule(Context.current().client, deps.config, input.monitor, input.everySeconds ? { everySeconds: input.everySeconds } : {});
      ctx.log.info('monitoring scheduled', { model: input.monitor.model, version: input.monitor.version, scheduleId: info.id });
      return info;
    }),
  };
}
