import { FeaturesInput, IngestInput, ProfileInput, SplitInput, ValidateInput } from '../../lib/data-steps.js';
import { defineActivity } from '../define-activity.js';
import { type DataDeps } from './dataset-writer.js';
import { buildFeatures } from './features.js';
import { ingestDataset } from './ingest.js';
import { profileDataset } from './profile.js';
import { splitDataset } from './split.js';
import { validateDataset } from './validate.js';

/**
 * The data steps as Temporal activities for the control worker: each parses its input, heartbeats
 * its progress and maps PlumbErrors to typed failures (a failed suite is a non-retryable
 * `PlumbDataQuality` failure).
 *
 *   const worker = await Worker.create({ activities: { ...createDataActivities({ store, log }) }, ... });
 */
export function createDataActivities(deps: DataDeps) {
  const withLog = (log: DataDeps['log']): DataDeps => ({ ...deps, log });
  return {
    ingest: defineActivity('ingest', IngestInput, deps.log, (input, ctx) => ingestDataset(input, withLog(ctx.log), ctx.progress)),
    validate: defineActivity('validate', ValidateInput, deps.log, (input, ctx) => validateDataset(input, withLog(ctx.log), ctx.progress)),
    profile: defineActivity('profile', ProfileInput, deps.log, async (input, ctx) => (await profileDataset(input, withLog(ctx.log), ctx.progress)).profile),
    features: defineActivity('features', FeaturesInput, deps.log, (input, ctx) => buildFeatures(input, withLog(ctx.log), ctx.progress)),
    split: defineActivity('split', SplitInput, deps.log, (input, ctx) => splitDataset(input, withLog(ctx.log), ctx.progress)),
  };
}

export type DataActivities = ReturnType<typeof createDataActivities>;
