import { userInfo } from 'node:os';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { CANARY_HANDLERS, type CanaryAnalysis, type CanaryControl, type CanaryResult, type CanaryState, canaryWorkflowId } from '../lib/canary-contracts.js';
import type { StackConfig } from '../lib/config.js';
import { PlumbError, badInput } from '../lib/errors.js';
import { SEARCH_ATTRIBUTES } from '../lib/pipeline-contracts.js';
import { fromFailure } from '../lib/registry-client.js';
import { ModelName } from '../lib/registry-contracts.js';
import { connectClient } from './client.js';
import { printResult } from './output.js';

export interface RolloutSummary {
  workflowId: string;
  runId: string;
  state: CanaryState;
}

const ACTIONS = { pause: CANARY_HANDLERS.pause, resume: CANARY_HANDLERS.resume, abort: CANARY_HANDLERS.abort, 'promote-now': CANARY_HANDLERS.promoteNow } as const;
export type RolloutAction = keyof typeof ACTIONS;

const runningQuery = (model?: string) =>
  `WorkflowType = 'canaryRollout' AND ExecutionStatus = 'Running'${model ? ` AND ${SEARCH_ATTRIBUTES.model.name} = '${model}'` : ''}`;

/** Running canary rollouts with their state (step, weight, analyses), oldest first. */
export async function listRollouts(client: Client, model?: string): Promise<RolloutSummary[]> {
  const out: RolloutSummary[] = [];
  for await (const w of client.workflow.list({ query: runningQuery(model) })) {
    const state = await client.workflow.getHandle(w.workflowId, w.runId).query<CanaryState>(CANARY_HANDLERS.state);
    out.push({ workflowId: w.workflowId, runId: w.runId, state });
  }
  return out;
}

/**
 * Sends a manual control to the model's running rollout; resolves with its state once applied.
 * Without `version` the rollout is found by listing (visibility lags a new run by a moment). A
 * rollout that does not exist is NotFound; one that has ended, or a control that does not apply
 * now (resume when not paused, …), is a Conflict saying why.
 */
export async function controlRollout(client: Client, model: string, action: RolloutAction, payload: CanaryControl, version?: number): Promise<CanaryState> {
  const ids: string[] = [];
  if (version !== undefined) ids.push(canaryWorkflowId(model, version));
  else for await (const w of client.workflow.list({ query: runningQuery(model) })) ids.push(w.workflowId);
  if (ids.length === 0) throw new PlumbError('NotFound', `no canary rollout of ${model} is running`);
  if (ids.length > 1) throw new PlumbError('Conflict', `several rollouts of ${model} are running (${ids.join(', ')}): name the version with --version`);
  const handle = client.workflow.getHandle(ids[0]!);
  if (version !== undefined) {
    const status = await handle.describe().then(
      (d) => d.status.name,
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) throw new PlumbError('NotFound', `no canary rollout of ${model} v${version} (workflow ${ids[0]}) exists`);
        throw err;
      },
    );
    if (status !== 'RUNNING') {
      const ended = status === 'COMPLETED' ? ((await handle.result()) as CanaryResult).outcome : status.toLowerCase();
      throw new PlumbError('Conflict', `${action} refused: the rollout of ${model} v${version} has already ended (${ended})`);
    }
  }
  return handle.executeUpdate<CanaryState, [CanaryControl]>(ACTIONS[action], { args: [payload] }).catch((err: unknown) => {
    throw fromFailure(err);
  });
}

/** `plumb rollouts [model]` and `plumb rollout pause|resume|abort|promote-now <model> [--version <n>]`. */
export function registerRolloutCommands(program: Command, loadConfig: () => Promise<StackConfig>): void {
  const withClient = async <R>(run: (client: Client) => Promise<R>): Promise<R> => {
    const { client, close } = await connectClient(await loadConfig());
    try {
      return await run(client);
    } finally {
      await close();
    }
  };

  program
    .command('rollouts [model]')
    .description('running canary rollouts (of one model, if named) with their step and last analysis')
    .option('--json', 'print machine-readable JSON')
    .action(async (name: string | undefined, opts: { json?: boolean }) => {
      const model = name === undefined ? undefined : modelName(name);
      const rollouts = await withClient((client) => listRollouts(client, model));
      printResult(rollouts, opts.json ?? false, () => renderRollouts(rollouts, model));
    });

  const rollout = program.command('rollout').description('control a running canary rollout');
  for (const action of Object.keys(ACTIONS) as RolloutAction[]) {
    rollout
      .command(`${action} <model>`)
      .description(
        {
          pause: 'hold the current traffic weights until resume',
          resume: 'continue a paused rollout',
          abort: 'roll back now: all traffic to stable, the candidate rejected',
          'promote-now': 'promote the candidate now, skipping the remaining steps',
        }[action],
      )
      .option('--version <n>', 'the candidate version (default: the one rollout of the model that is running)')
      .option('--by <name>', 'who (default: your user name)')
      .option('--reason <text>', 'why')
      .option('--json', 'print machine-readable JSON')
      .action(async (name: string, opts: { version?: string; by?: string; reason?: string; json?: boolean }) => {
        const model = modelName(name);
        const version = opts.version === undefined ? undefined : Number(opts.version);
        if (version !== undefined && !(Number.isInteger(version) && version > 0)) throw badInput(`--version: "${opts.version}" is not a version number`);
        const payload = { by: opts.by ?? userInfo().username, ...(opts.reason ? { reason: opts.reason } : {}) };
        const state = await withClient((client) => controlRollout(client, model, action, payload, version));
        printResult(state, opts.json ?? false, () => `${state.model} v${state.candidate}: ${state.status}${state.status === 'running' || state.status === 'paused' ? ` at ${state.weight} %` : ''}`);
      });
  }
}

function modelName(name: string): string {
  const parsed = ModelName.safeParse(name);
  if (!parsed.success) throw badInput(`model: "${name}" is not a model name`);
  return parsed.data;
}

function renderRollouts(rollouts: RolloutSummary[], model?: string): string {
  if (rollouts.length === 0) return `no canary rollouts${model ? ` of ${model}` : ''} are running`;
  return rollouts
    .map(({ state: s }) => {
      const last: CanaryAnalysis | undefined = s.analyses[s.analyses.length - 1];
      const step = s.phase === 'shadow' ? 'shadow phase' : `step ${s.step + 1} at ${s.weight} %`;
      return `${s.model} v${s.candidate} (stable v${s.stable}): ${s.status}, ${step}; last analysis: ${last ? `${last.verdict}: ${last.reason}` : 'none yet'}`;
    })
    .join('\n');
}
