import type { ArtifactStore } from '../lib/artifact-store.js';
import type { StackConfig } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import { createBatchScoringActivities } from './batch-scoring.js';
import { createCanaryActivities } from './canary-activities.js';
import { createDataActivities } from './data/data-activities.js';
import { createRegistryActivities } from './registry-activities.js';
import { createRetireActivities } from './retire-activities.js';
import { createTrainingActivities } from './training-activities.js';
import { webhookSink } from './monitoring/alerts.js';
import { createMonitorScheduleActivities } from './monitoring/monitor-schedule-activities.js';
import { createMonitoringActivities } from './monitoring/monitoring-activities.js';

export interface ControlActivityDeps {
  store: ArtifactStore;
  log: Logger;
  config: StackConfig;
}

/** Every activity the control worker (task queue `plumb-control`) runs. */
export function createControlActivities({ store, log, config }: ControlActivityDeps) {
  const webhook = config.monitoring.alertWebhookUrl;
  return {
    ...createDataActivities({ store, log }),
    ...createTrainingActivities({ store, log }),
    ...createRegistryActivities({ log }),
    ...createBatchScoringActivities({ store, log }),
    ...createCanaryActivities({ log }),
    ...createRetireActivities({ log }),
    ...createMonitoringActivities({ store, log, sinks: webhook ? [webhookSink({ url: webhook })] : [], servingTaskQueue: config.taskQueues.serving }),
    ...createMonitorScheduleActivities({ config, store, log }),
  };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
