import { createDataActivities } from './data/data-activities.js';
import type { ArtifactStore } from '../lib/artifact-store.js';
import type { Logger } from '../lib/logger.js';

export interface ControlActivityDeps {
  store: ArtifactStore;
  log: Logger;
}

/** Every activity the control worker (task queue `plumb-control`) runs. */
export function createControlActivities(deps: ControlActivityDeps) {
  return { ...createDataActivities(deps) };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
