import { register as defaultRegistry, type Registry } from 'prom-client';
import { z } from 'zod';
import type { ArtifactStore } from '../../lib/artifact-store.js';
import { DriftInput, DriftResult } from '../../lib/drift-contracts.js';
import type { Logger } from '../../lib/logger.js';
import { PerformanceInput, PerformanceResult } from '../../lib/metrics/windowed-performance.js';
import { defineActivity } from '../define-activity.js';
import { DispatchAlertsInput, DriftGauges, dispatchAlerts, jsonLogSink, type AlertSink } from './alerts.js';
import { writeDriftReport } from './drift-report.js';
import { computeDrift } from './drift.js';
import { createMonitorActivities } from './monitor-activities.js';
import { computePerformance } from './performance.js';

export const DriftCheckInput = DriftInput.extend({
  /** When set, the model's Prometheus drift gauges are updated with the result. */
  model: z.string().min(1).optional(),
});

export const WriteDriftReportInput = z.strictObject({
  title: z.string().min(1),
  generatedAt: z.string().min(1),
  drift: DriftResult,
  performance: PerformanceResult.optional(),
});

export interface MonitoringDeps {
  store: ArtifactStore;
  log: Logger;
  /** Registry for the drift gauges; prom-client's default registry otherwise. */
  metrics?: Registry;
  /** Sinks besides the JSON log, e.g. `webhookSink({ url })`. */
  sinks?: AlertSink[];
  /** The serving pools' task queue, for the deploy steps of retraining runs; `plumb-serving` by default. */
  servingTaskQueue?: string;
}

/**
 * The monitoring activities for a worker: drift check, performance check, alert dispatch, the
 * HTML report, and the monitor workflow's state, window and retraining activities. Register them on the control task queue:
 *
 *   Worker.create({ ..., activities: { ...createMonitoringActivities({ store, log }) } });
 */
export function createMonitoringActivities(deps: MonitoringDeps) {
  const gauges = new DriftGauges(deps.metrics ?? defaultRegistry);
  const sinks = [jsonLogSink(deps.log), ...(deps.sinks ?? [])];
  return {
    driftCheck: defineActivity('driftCheck', DriftCheckInput, deps.log, async ({ model, ...input }, ctx) => {
      const drift = await computeDrift(input, { store: deps.store }, ctx.progress);
      if (model !== undefined) gauges.update(model, drift);
      return drift;
    }),
    performanceCheck: defineActivity('performanceCheck', PerformanceInput, deps.log, (input) => computePerformance(input)),
    dispatchAlerts: defineActivity('dispatchAlerts', DispatchAlertsInput, deps.log, (input) => dispatchAlerts(input, sinks)),
    writeDriftReport: defineActivity('writeDriftReport', WriteDriftReportInput, deps.log, (input) => writeDriftReport(input, deps.store)),
    ...createMonitorActivities(deps),
  };
}

export type MonitoringActivities = ReturnType<typeof createMonitoringActivities>;
