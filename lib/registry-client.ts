import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowFailedError,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { type ErrorKind, PlumbError } from './errors.js';
import {
  REGISTRY_QUERIES,
  REGISTRY_UPDATES,
  REGISTRY_WORKFLOW_TYPE,
  type RegisterInput,
  type RegisterResult,
  type RegistryWorkflowInput,
  registryWorkflowId,
} from './registry-contracts.js';

/**
 * Talking to registry workflows from outside a workflow (activities, the CLI): refusals come back
 * as PlumbErrors with the registry's reason and kind (Conflict, NotFound, BadInput).
 */

type RegistryWorkflow = (input: RegistryWorkflowInput) => Promise<never>;

/** Registers a version, starting the model's registry workflow when this is its first version. */
export async function registerWithStart(
  client: Client,
  taskQueue: string,
  model: string,
  input: RegisterInput,
  options: { updateId?: string; continueAsNewAfterEvents?: number } = {},
): Promise<RegisterResult> {
  const args: [RegistryWorkflowInput] = [
    { model, ...(options.continueAsNewAfterEvents ? { continueAsNewAfterEvents: options.continueAsNewAfterEvents } : {}) },
  ];
  const startWorkflowOperation = new WithStartWorkflowOperation<RegistryWorkflow>(REGISTRY_WORKFLOW_TYPE, {
    workflowId: registryWorkflowId(model),
    taskQueue,
    args,
    workflowIdConflictPolicy: 'USE_EXISTING',
    // A closed registry (terminated by hand) must not be replaced by an empty one numbering from 1 again.
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
  return client.workflow
    .executeUpdateWithStart<RegistryWorkflow, RegisterResult, [RegisterInput]>(REGISTRY_UPDATES.register, {
      args: [input],
      startWorkflowOperation,
      ...(options.updateId ? { updateId: options.updateId } : {}),
    })
    .catch((err: unknown) => {
      if (err instanceof WorkflowExecutionAlreadyStartedError || (err instanceof Error && err.cause instanceof WorkflowExecutionAlreadyStartedError)) {
        throw new PlumbError(
          'Conflict',
          `the registry workflow ${registryWorkflowId(model)} is closed (terminated?); nothing was registered; its versions remain in its last run's history (plumb does not start an empty registry over it)`,
          { cause: err },
        );
      }
      throw asPlumbError(err, model);
    });
}

export async function updateRegistry<R>(
  client: Client,
  model: string,
  update: keyof typeof REGISTRY_UPDATES,
  arg: unknown,
  options: { updateId?: string } = {},
): Promise<R> {
  return client.workflow
    .getHandle(registryWorkflowId(model))
    .executeUpdate<R, [unknown]>(REGISTRY_UPDATES[update], { args: [arg], ...(options.updateId ? { updateId: options.updateId } : {}) })
    .catch((err: unknown) => {
      throw asPlumbError(err, model);
    });
}

export async function queryRegistry<R>(client: Client, model: string, query: keyof typeof REGISTRY_QUERIES, ...args: unknown[]): Promise<R> {
  return client.workflow
    .getHandle(registryWorkflowId(model))
    .query<R, unknown[]>(REGISTRY_QUERIES[query], ...args)
    .catch((err: unknown) => {
      throw asPlumbError(err, model);
    });
}

/** The models that have a registry (running registry workflows), by name. */
export async function listModels(client: Client): Promise<string[]> {
  const names: string[] = [];
  const query = `WorkflowType = '${REGISTRY_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  for await (const w of client.workflow.list({ query })) names.push(w.workflowId.replace(/^model\//, ''));
  return [...new Set(names)].sort();
}

const KINDS: ErrorKind[] = ['BadInput', 'DataQuality', 'NotFound', 'Conflict', 'Integrity', 'Forbidden', 'Unavailable'];

/** A registry's typed refusal (ApplicationFailure `Plumb<Kind>`) as the PlumbError it started as. */
export function asPlumbError(err: unknown, model: string): unknown {
  if (err instanceof WorkflowNotFoundError || (err instanceof Error && err.name === 'WorkflowNotFoundError')) {
    return new PlumbError('NotFound', `no model named ${model} (no version was ever registered)`, { cause: err });
  }
  return fromFailure(err);
}

/**
 * A failed Update's or workflow's typed cause (`Plumb<Kind>`) as a PlumbError; anything else as
 * is. The cause may sit deeper: a workflow failed by an activity's refusal carries it under the
 * ActivityFailure.
 */
export function fromFailure(err: unknown): unknown {
  let cause: unknown = err instanceof WorkflowUpdateFailedError || err instanceof WorkflowFailedError ? err.cause : err;
  for (let depth = 0; cause instanceof Error && depth < 5; depth++, cause = cause.cause) {
    if (!(cause instanceof ApplicationFailure)) continue;
    const type = cause.type;
    const kind = KINDS.find((k) => type === `Plumb${k}`);
    if (kind) return new PlumbError(kind, cause.message, { cause: err });
  }
  return err;
}
