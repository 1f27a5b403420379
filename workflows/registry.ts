import * as wf from '@temporalio/workflow';
import { PlumbError, toTemporalFailure } from '../lib/errors.js';
import { SEARCH_ATTRIBUTES } from '../lib/pipeline-contracts.js';
import {
  type ModelVersion,
  REGISTRY_QUERIES,
  REGISTRY_UPDATES,
  type RegisterInput,
  type RegisterResult,
  type RegistryHistory,
  type RegistryListing,
  type RegistryState,
  RegistryWorkflowInput,
  type RetireInput,
  type RollbackInput,
  type VersionChangeInput,
  emptyRegistry,
} from '../lib/registry-contracts.js';
import {
  type VersionChange,
  applyRegister,
  applyRetire,
  applyRollback,
  applyVersionChange,
  checkRegister,
  checkRetire,
  checkRollback,
  checkVersionChange,
  getVersion,
  history,
  listing,
  productionAt,
} from '../lib/registry-rules.js';
import { formatIssues } from '../lib/zod-issues.js';

export const registerUpdate = wf.defineUpdate<RegisterResult, [RegisterInput]>(REGISTRY_UPDATES.register);
export const approveVersionUpdate = wf.defineUpdate<ModelVersion, [VersionChangeInput]>(REGISTRY_UPDATES.approve);
export const rejectVersionUpdate = wf.defineUpdate<ModelVersion, [VersionChangeInput]>(REGISTRY_UPDATES.reject);
export const promoteUpdate = wf.defineUpdate<ModelVersion, [VersionChangeInput]>(REGISTRY_UPDATES.promote);
export const archiveUpdate = wf.defineUpdate<ModelVersion, [VersionChangeInput]>(REGISTRY_UPDATES.archive);
export const rollbackUpdate = wf.defineUpdate<ModelVersion, [RollbackInput]>(REGISTRY_UPDATES.rollback);
export const retireUpdate = wf.defineUpdate<ModelVersion, [RetireInput]>(REGISTRY_UPDATES.retire);

export const listQuery = wf.defineQuery<RegistryListing>(REGISTRY_QUERIES.list);
export const getQuery = wf.defineQuery<ModelVersion, [number]>(REGISTRY_QUERIES.get);
export const productionAtQuery = wf.defineQuery<number | null, [string]>(REGISTRY_QUERIES.productionAt);
export const historyQuery = wf.defineQuery<RegistryHistory>(REGISTRY_QUERIES.history);

/**
 * The registry entity of one model (workflow id `model/<name>`, started by update-with-start from
 * whoever registers its first version). It never ends: it waits for Updates, each checked by a
 * validator that refuses invalid changes (the caller gets the reason, the history records
 * nothing), and continues-as-new with its state before its history grows large. Its history is
 * the audit trail of every change.
 */
export async function modelRegistry(raw: RegistryWorkflowInput): Promise<never> {
  const input = RegistryWorkflowInput.safeParse(raw);
  if (!input.success) throw toTemporalFailure(new PlumbError('BadInput', `model registry: ${formatIssues(input.error)}`));
  const { model, continueAsNewAfterEvents } = input.data;
  const state: RegistryState = input.data.state ?? emptyRegistry(model);
  const now = () => new Date(); // workflow time: deterministic on replay

  wf.upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.model, value: model }]);
  const show = () => {
    const { production, candidate } = state.aliases;
    wf.setCurrentDetails(
      [
        `**model ${model}** — ${state.versions.length} version(s)`,
        `- production: ${production === undefined ? 'none' : `v${production}`}`,
        `- candidate: ${candidate === undefined ? 'none' : `v${candidate}`}`,
      ].join('\n'),
    );
  };
  show();

  // Validators, handlers and queries throw typed failures, so a refused caller can match on
  // PlumbConflict/PlumbNotFound and a bad request never fails the workflow task.
  const safe =
    <A extends unknown[], R>(run: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return run(...args);
      } catch (err) {
        throw toTemporalFailure(err);
      }
    };
  const changed = <A extends unknown[], R>(apply: (...args: A) => R) =>
    safe((...args: A): R => {
      const result = apply(...args);
      show();
      return result;
    });

  wf.setHandler(registerUpdate, changed((i: RegisterInput) => applyRegister(state, i, now())), {
    validator: safe((i: RegisterInput) => checkRegister(state, i)),
    description: 'Register a new version {model: ModelRef, card?, lineage: {workflowId, runId, datasets}, metrics, by}; a run registering twice gets its first version back',
  });
  const versionChange = (change: VersionChange, description: string) => ({
    handler: changed((i: VersionChangeInput) => applyVersionChange(state, change, i, now())),
    options: { validator: safe((i: VersionChangeInput) => checkVersionChange(state, change, i)), description },
  });
  for (const [def, change, description] of [
    [approveVersionUpdate, 'approve', 'Approve a registered version {version, by, comment?}'],
    [rejectVersionUpdate, 'reject', 'Reject a registered or approved version {version, by, comment?}'],
    [promoteUpdate, 'promote', 'Make an approved version production {version, by, comment?}; the previous one becomes the rollback target'],
    [archiveUpdate, 'archive', 'Archive a version that is not in production {version, by, comment?}'],
  ] as const) {
    const { handler, options } = versionChange(change, description);
    wf.setHandler(def, handler, options);
  }
  wf.setHandler(rollbackUpdate, changed((i: RollbackInput) => applyRollback(state, i, now())), {
    validator: safe((i: RollbackInput) => checkRollback(state, i)),
    description: 'Put the previous production version back in production {by, comment?}; the current one is archived',
  });
  wf.setHandler(retireUpdate, changed((i: RetireInput) => applyRetire(state, i, now())), {
    validator: safe((i: RetireInput) => checkRetire(state, i)),
    description: 'Take the model out of production {by, comment?}: the production version is archived, none is production (plumb models retire also stops the pools and the monitor)',
  });

  wf.setHandler(listQuery, () => listing(state), { description: 'Versions with status, hash, metrics and aliases' });
  wf.setHandler(getQuery, safe((version: number) => getVersion(state, version)), {
    description: 'One version in full: model ref, card, lineage, metrics, decisions (arg: version number)',
  });
  wf.setHandler(productionAtQuery, safe((time: string) => productionAt(state, time)), {
    description: 'The version that was production at a time (arg: ISO 8601 date-time), or null',
  });
  wf.setHandler(historyQuery, () => history(state), { description: 'Every decision, oldest first, and the production periods' });

  await wf.condition(() => wf.workflowInfo().continueAsNewSuggested || wf.workflowInfo().historyLength >= continueAsNewAfterEvents);
  // Let updates already accepted finish, so their callers get answers and nothing is lost.
  await wf.condition(wf.allHandlersFinished);
  return wf.continueAsNew<typeof modelRegistry>({ model, state, continueAsNewAfterEvents });
}
