import * as wf from '@temporalio/workflow';
import type { RegistryActivities } from '../activities/registry-activities.js';
import type { ModelVersion, RegisterResult, RegisterVersionRequest, VersionRef } from '../lib/registry-contracts.js';

/**
 * Registry changes as workflow code calls them (pipelines, the approval gate, the canary). Each
 * runs a registry activity that sends the Update to `model/<name>`; refusals (PlumbConflict,
 * PlumbNotFound, PlumbBadInput) are not retried, anything else is. Decisions carry the workflow's
 * time, so a retried activity records a decision once.
 *
 *   const version = await registerVersion({ name: 'churn', model, card, datasets: [train, test], metrics });
 *   await promoteVersion(version, 'canary', 'all steps passed');
 */
const registry = wf.proxyActivities<RegistryActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: ['PlumbBadInput', 'PlumbConflict', 'PlumbNotFound'] },
});

/** Registers a new version (lineage: this run); a retry gets the same version back. */
export function registerVersion(request: RegisterVersionRequest): Promise<RegisterResult> {
  return registry.registerModelVersion(request);
}

export function approveVersion(v: VersionRef, by: string, comment?: string, at = new Date().toISOString()): Promise<ModelVersion> {
  return registry.recordModelDecision({ model: v.model, version: v.version, action: 'approve', by, at, ...(comment === undefined ? {} : { comment }) });
}

export function rejectVersion(v: VersionRef, by: string, comment?: string, at = new Date().toISOString()): Promise<ModelVersion> {
  return registry.recordModelDecision({ model: v.model, version: v.version, action: 'reject', by, at, ...(comment === undefined ? {} : { comment }) });
}

/** Makes an approved version production; the previous production version becomes the rollback target. */
export function promoteVersion(v: VersionRef, by: string, comment?: string): Promise<ModelVersion> {
  return registry.recordModelDecision({ model: v.model, version: v.version, action: 'promote', by, at: new Date().toISOString(), ...(comment === undefined ? {} : { comment }) });
}

/** Takes the model out of production in the registry; resolves with the version that was production, now archived. */
export function retireFromProduction(model: string, by: string, comment?: string): Promise<ModelVersion> {
  return registry.recordRetirement({ model, by, at: new Date().toISOString(), ...(comment === undefined ? {} : { comment }) });
}

/** Puts the previous production version back; resolves with it. */
export function rollbackModel(model: string, by: string, comment?: string): Promise<ModelVersion> {
  return registry.rollbackModel({ model, by, at: new Date().toISOString(), ...(comment === undefined ? {} : { comment }) });
}
