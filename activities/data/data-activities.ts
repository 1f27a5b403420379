import { stat } from 'node:fs/promises';
import { FeaturesInput, IngestInput, type IngestParams, ProfileInput, SplitInput, ValidateInput } from '../../lib/data-steps.js';
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
  const cache = { store: deps.store, version: 1 };
  // A file's content may change under the same path: key ingest on its size and mtime too.
  const fileStamp = async (input: IngestParams) => {
    if (!('path' in input.source)) return undefined;
    const info = await stat(input.source.path).catch(() => undefined);
    return info ? { size: info.size, mtimeMs: info.mtimeMs } : undefined;
  };
  return {
    ingest: defineActivity('ingest', IngestInput, deps.log, (input, ctx) => ingestDataset(input, withLog(ctx.log), ctx.progress), {
      cache: { ...cache, keyExtra: fileStamp },
    }),
    validate: defineActivity('validate', ValidateInput, deps.log, (input, ctx) => validateDataset(input, withLog(ctx.log), ctx.progress), { cache }),
    profile: defineActivity('profile', ProfileInput, deps.log, async (input, ctx) => (await profileDataset(input, withLog(ctx.log), ctx.progress)).profile, { cache }),
    features: defineActivity('features', FeaturesInput, deps.log, (input, ctx) => buildFeatures(input, withLog(ctx.log), ctx.progress), { cache }),
    split: defineActivity('split', SplitInput, deps.log, (input, ctx) => splitDataset(input, withLog(ctx.log), ctx.progress), { cache }),
  };
}

export type DataActivities = ReturnType<typeof createDataActivities>;
