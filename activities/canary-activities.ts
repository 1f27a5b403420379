import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from '../lib/logger.js';
import { queryRegistry } from '../lib/registry-client.js';
import { type ModelVersion, type RegistryListing, VersionRef } from '../lib/registry-contracts.js';
import type { ModelRef } from '../lib/refs.js';
import { defineActivity } from './define-activity.js';

export interface CanaryTarget {
  /** The model file of the version to roll out. */
  candidate: ModelRef;
  /** The production version the pools serve now; absent for a model's first production version. */
  production?: number;
}

/** Reads from the registry what a rollout needs: the candidate's model file and the production version. */
export async function canaryTarget(client: Client, v: VersionRef): Promise<CanaryTarget> {
  const version = await queryRegistry<ModelVersion>(client, v.model, 'get', v.version);
  const listing = await queryRegistry<RegistryListing>(client, v.model, 'list');
  const production = listing.aliases.production;
  return { candidate: version.model, ...(production === undefined ? {} : { production }) };
}

export function createCanaryActivities(deps: { log: Logger; client?: Client }) {
  return {
    canaryTarget: defineActivity('canaryTarget', VersionRef, deps.log, (input) => canaryTarget(deps.client ?? Context.current().client, input)),
  };
}

export type CanaryActivities = ReturnType<typeof createCanaryActivities>;
