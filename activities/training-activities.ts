import type { ArtifactStore } from '../lib/artifact-store.js';
import type { Logger } from '../lib/logger.js';
import { defineActivity } from './define-activity.js';
import { EvaluateInput, evaluateStep } from './evaluate.js';
import { ExternalTrainInput, runExternalTrainer } from './trainers/external-trainer.js';
import { TrainInput, trainStep } from './train.js';

/**
 * The training and evaluation activities, for the control worker:
 *   worker.activities = { ...createTrainingActivities({ store, log }), ... }
 * Workflows call them as `train`, `evaluate` and `trainExternal`; long ones heartbeat their
 * progress (trees, iterations, rows scored, seconds an external trainer has run).
 */
export function createTrainingActivities(deps: { store: ArtifactStore; log: Logger }) {
  const { store, log } = deps;
  const cache = { store, version: 1 };
  return {
    train: defineActivity('train', TrainInput, log, (input, ctx) => trainStep(input, { store }, ctx), { cache }),
    evaluate: defineActivity('evaluate', EvaluateInput, log, (input, ctx) => evaluateStep(input, { store }, ctx), { cache }),
    trainExternal: defineActivity('trainExternal', ExternalTrainInput, log, (input, ctx) => runExternalTrainer(input, { store }, ctx)),
  };
}

export type TrainingActivities = ReturnType<typeof createTrainingActivities>;
