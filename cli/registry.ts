import { userInfo } from 'node:os';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { APPROVAL_HANDLERS, type ApprovalDecision, type ApprovalPayload, type ApprovalState } from '../lib/approval-contracts.js';
import type { StackConfig } from '../lib/config.js';
import { PlumbError, badInput, messageOf } from '../lib/errors.js';
import { SEARCH_ATTRIBUTES } from '../lib/pipeline-contracts.js';
import { fromFailure, listModels, queryRegistry, updateRegistry } from '../lib/registry-client.js';
import { ModelName, type ModelVersion, type RegistryHistory, type RegistryListing } from '../lib/registry-contracts.js';
import { connectClient } from './client.js';
import { printResult } from './output.js';
import { runUrl } from './run-commands.js';
import { type DeployInput, type DeployResult, deployWorkflowId } from '../workflows/deploy.js';
import { type RetireModelInput, type RetireModelResult, retireWorkflowId } from '../workflows/retire.js';

/**
 * `plumb models list|show|history|retire`, `plumb promote`, `plumb rollback` (the registry) and
 * `plumb approve|reject|pending` (runs waiting at an approval gate).
 */
export function registerRegistryCommands(program: Command, loadConfig: () => Promise<StackConfig>): void {
  const withClient = async <R>(run: (client: Client, config: StackConfig) => Promise<R>): Promise<R> => {
    const config = await loadConfig();
    const { client, close } = await connectClient(config);
    try {
      return await run(client, config);
    } finally {
      await close();
    }
  };
  const me = () => userInfo().username;

  const models = program.command('models').description('the model registry: versions, statuses, aliases, history');
  models
    .command('list')
    .description('every registered model with its production and candidate versions')
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      const listings = await withClient((client) => listModelRegistries(client));
      printResult(listings, opts.json ?? false, () => renderModels(listings));
    });
  models
    .command('show <name> [version]')
    .description("a model's versions, or one version in full (model ref, card, lineage, metrics, decisions)")
    .option('--json', 'print machine-readable JSON')
    .action(async (name: string, version: string | undefined, opts: { json?: boolean }) => {
      const model = parseModel(name);
      if (version === undefined) {
        const listing = await withClient((client) => queryRegistry<RegistryListing>(client, model, 'list'));
        printResult(listing, opts.json ?? false, () => renderVersions(listing));
      } else {
        const v = await withClient((client) => queryRegistry<ModelVersion>(client, model, 'get', parseVersion(version)));
        printResult(v, opts.json ?? false, () => renderVersion(model, v));
      }
    });
  models
    .command('history <name>')
    .description("every decision on a model's versions, oldest first, and who was production when")
    .option('--json', 'print machine-readable JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const h = await withClient((client) => queryRegistry<RegistryHistory>(client, parseModel(name), 'history'));
      printResult(h, opts.json ?? false, () => renderHistory(h));
    });
  models
    .command('retire <name>')
    .description('take a model out of production: its production version is archived, the pools stop serving it, its monitor schedule is removed')
    .option('--by <name>', 'who retires it (default: your user name)')
    .option('--comment <text>', 'why')
    .option('--json', 'print machine-readable JSON')
    .action(async (name: string, opts: { by?: string; comment?: string; json?: boolean }) => {
      const model = parseModel(name);
      const change = { by: opts.by ?? me(), ...(opts.comment ? { comment: opts.comment } : {}) };
      const r = await withClient((client, config) => retireAndUndeploy(client, config, model, change));
      printResult(r, opts.json ?? false, () =>
        `${model} retired: v${r.version} archived, no version is production, the pools no longer serve it; ${r.monitor.removed ? `${r.monitor.scheduleId} removed` : 'it had no monitor schedule'}`,
      );
    });

  program
    .command('promote <name> <version>')
    .description('make an approved version production and serve it on the pools (the current one becomes the rollback target)')
    .option('--by <name>', 'who promotes (default: your user name)')
    .option('--comment <text>', 'why')
    .option('--no-deploy', 'only move the registry alias: leave the pools (a stack without online serving) and the monitor schedule as they are')
    .option('--json', 'print machine-readable JSON')
    .action(async (name: string, version: string, opts: { by?: string; comment?: string; deploy: boolean; json?: boolean }) => {
      const model = parseModel(name);
      const change = { version: parseVersion(version), by: opts.by ?? me(), ...(opts.comment ? { comment: opts.comment } : {}) };
      const r = await withClient((client, config) => promoteAndDeploy(client, config, model, change, { deploy: opts.deploy }));
      printResult(r, opts.json ?? false, () => renderProductionChange(model, 'promoted', r));
    });

  program
    .command('rollback <name>')
    .description('put the previous production version back in production')
    .option('--by <name>', 'who rolls back (default: your user name)')
    .option('--comment <text>', 'why')
    .option('--json', 'print machine-readable JSON')
    .action(async (name: string, opts: { by?: string; comment?: string; json?: boolean }) => {
      const model = parseModel(name);
      const change = { by: opts.by ?? me(), ...(opts.comment ? { comment: opts.comment } : {}) };
      const r = await withClient((client, config) => rollbackAndDeploy(client, config, model, change));
      printResult(r, opts.json ?? false, () => renderProductionChange(model, 'rolled back', r));
    });

  for (const action of ['approve', 'reject'] as const) {
    program
      .command(`${action} <model> <version>`)
      .description(`${action} a version waiting at a pipeline's approval gate (you must be on its approver list)`)
      .requiredOption('--by <name>', 'who decides (checked against the allow-list)')
      .option('--comment <text>', 'why')
      .option('--json', 'print machine-readable JSON')
      .action(async (name: string, version: string, opts: { by: string; comment?: string; json?: boolean }) => {
        const payload = { by: opts.by, ...(opts.comment ? { comment: opts.comment } : {}) };
        const result = await withClient((client) => decideAtGate(client, action, parseModel(name), parseVersion(version), payload));
        printResult(result, opts.json ?? false, () => `${name} v${version} ${action === 'approve' ? 'approved' : 'rejected'} by ${result.decision.by} (run ${result.workflowId})`);
      });
  }

  program
    .command('pending')
    .description('runs waiting at an approval gate')
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      const runs = await withClient(async (client, config) =>
        (await listPendingApprovals(client)).map((r) => ({ ...r, url: runUrl(config, r.workflowId, r.runId) })),
      );
      printResult(runs, opts.json ?? false, () => renderPending(runs));
    });
}

export interface PendingApproval {
  workflowId: string;
  runId: string;
  /** Absent when the run could not be asked (no worker for it right now). */
  gate?: ApprovalState;
}

/** Runs with `PlumbAwaitingApproval = true`, each with its gate's state when it answers. */
export async function listPendingApprovals(client: Client, model?: string): Promise<PendingApproval[]> {
  const filters = [`${SEARCH_ATTRIBUTES.awaitingApproval.name} = true`, `ExecutionStatus = 'Running'`];
  if (model !== undefined) filters.push(`${SEARCH_ATTRIBUTES.model.name} = '${model}'`);
  const out: PendingApproval[] = [];
  for await (const w of client.workflow.list({ query: filters.join(' AND ') })) {
    const gate = await client.workflow
      .getHandle(w.workflowId, w.runId)
      .query<ApprovalState | null>(APPROVAL_HANDLERS.state)
      .catch(() => null);
    out.push({ workflowId: w.workflowId, runId: w.runId, ...(gate ? { gate } : {}) });
  }
  return out;
}

/** Sends `approve`/`reject` as an Update to the run waiting for that model version; a refusal comes back with its reason. */
export async function decideAtGate(
  client: Client,
  action: 'approve' | 'reject',
  model: string,
  version: number,
  payload: ApprovalPayload,
): Promise<{ workflowId: string; runId: string; decision: ApprovalDecision }> {
  const waiting = (await listPendingApprovals(client, model)).filter((r) => r.gate?.version === version);
  const run = waiting[0];
  if (!run) throw new PlumbError('NotFound', `no run is waiting for approval of ${model} v${version} (\`plumb pending\` lists the runs that are)`);
  if (waiting.length > 1) throw new PlumbError('Conflict', `${waiting.length} runs are waiting for ${model} v${version}: ${waiting.map((r) => r.workflowId).join(', ')}`);
  const decision = await client.workflow
    .getHandle(run.workflowId, run.runId)
    .executeUpdate<ApprovalDecision, [ApprovalPayload]>(APPROVAL_HANDLERS[action], { args: [{ ...payload, version }] })
    .catch((err: unknown) => {
      throw fromFailure(err);
    });
  return { workflowId: run.workflowId, runId: run.runId, decision };
}

export type ModelListing = RegistryListing | { model: string; unavailable: string };

const QUERY_DEADLINE_MS = 5_000;

/** Every model's listing (versions and aliases); a registry no worker answers for is listed as unavailable. */
export async function listModelRegistries(client: Client): Promise<ModelListing[]> {
  return Promise.all(
    (await listModels(client)).map((model) =>
      client
        .withDeadline(Date.now() + QUERY_DEADLINE_MS, () => queryRegistry<RegistryListing>(client, model, 'list'))
        .catch((err: unknown): ModelListing => ({ model, unavailable: `no answer from its registry workflow (is a control worker running?): ${messageOf(err)}` })),
    ),
  );
}

function parseModel(name: string): string {
  const parsed = ModelName.safeParse(name);
  if (!parsed.success) throw badInput(`model name "${name}": ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

function parseVersion(raw: string): number {
  if (!/^[1-9]\d*$/.test(raw)) throw badInput(`version "${raw}": expected a positive whole number, e.g. 3`);
  return Number(raw);
}

const v = (n: number | undefined) => (n === undefined ? '-' : `v${n}`);

function renderModels(listings: ModelListing[]): string {
  if (listings.length === 0) return 'no models registered yet';
  return listings
    .map((l) =>
      'unavailable' in l
        ? `${l.model}: ${l.unavailable}`
        : `${l.model}: ${l.versions.length} version(s), production ${v(l.aliases.production)}, candidate ${v(l.aliases.candidate)}`,
    )
    .join('\n');
}

function renderVersions(l: RegistryListing): string {
  const lines = [`${l.model}: production ${v(l.aliases.production)}, candidate ${v(l.aliases.candidate)}`];
  for (const x of l.versions) {
    const metrics = Object.entries(x.metrics)
      .map(([k, m]) => `${k} ${m}`)
      .join(', ');
    lines.push(`  v${x.version}  ${x.status.padEnd(10)} ${x.sha256.slice(0, 12)}  ${x.registeredAt}${metrics ? `  ${metrics}` : ''}${x.aliases.length ? `  [${x.aliases.join(', ')}]` : ''}`);
  }
  return lines.join('\n');
}

function renderVersion(model: string, x: ModelVersion): string {
  return [
    `${model} v${x.version}: ${x.status}`,
    `  model: ${x.model.uri} (${x.bytes} bytes, trainer ${x.model.trainer}, ${x.model.features.length} features)`,
    ...(x.card ? [`  card: ${x.card.uri}`] : []),
    `  lineage: run ${x.lineage.workflowId} / ${x.lineage.runId}${x.lineage.datasets.length ? `, datasets ${x.lineage.datasets.map((d) => d.uri).join(', ')}` : ''}`,
    `  metrics: ${JSON.stringify(x.metrics)}`,
    '  decisions:',
    ...x.decisions.map((d) => `    ${d.at}  ${d.action.padEnd(8)} by ${d.by}${d.comment ? `: ${d.comment}` : ''}`),
  ].join('\n');
}

function renderHistory(h: RegistryHistory): string {
  return [
    `${h.model}`,
    ...h.decisions.map((d) => `  ${d.at}  v${d.version} ${d.action.padEnd(8)} by ${d.by}${d.comment ? `: ${d.comment}` : ''}`),
    'production:',
    ...h.productionHistory.map((p) => `  v${p.version}  ${p.from} → ${p.to ?? 'now'}`),
  ].join('\n');
}

function renderPending(runs: (PendingApproval & { url?: string | undefined })[]): string {
  if (runs.length === 0) return 'no run is waiting for approval';
  return runs
    .map((r) => {
      const g = r.gate;
      const what = g ? `${g.model} v${g.version}, approvers ${g.approvers.join(', ')}, waiting since ${g.waitingSince}${g.deadline ? `, deadline ${g.deadline}` : ''}` : '(no worker answered)';
      return [`${r.workflowId}: ${what}`, ...(r.url ? [`  ${r.url}`] : []), ...(g ? [`  plumb approve ${g.model} ${g.version} --by <you>`] : [])].join('\n');
    })
    .join('\n');
}

/**
 * What `plumb promote` and `plumb rollback` print with `--json`: the version now in production (as
 * before they deployed, so scripts reading `.version` keep working) with, unless `--no-deploy`,
 * the deployment that serves it and what became of the monitor schedule.
 */
export type ProductionChange = ModelVersion & { deployment?: DeployResult };

/** `plumb promote`: the registry's production alias moves to `change.version`, then (unless `deploy: false`) the pools serve it. */
export async function promoteAndDeploy(
  client: Client,
  config: StackConfig,
  model: string,
  change: { version: number; by: string; comment?: string },
  o: { deploy: boolean } = { deploy: true },
): Promise<ProductionChange> {
  const promoted = await updateRegistry<ModelVersion>(client, model, 'promote', change);
  return o.deploy ? { ...promoted, deployment: await deployProduction(client, config, model, promoted, 'promote') } : promoted;
}

/** `plumb rollback`: the previous production version is production again, then the pools serve it. */
export async function rollbackAndDeploy(client: Client, config: StackConfig, model: string, change: { by: string; comment?: string }): Promise<ProductionChange> {
  const back = await updateRegistry<ModelVersion>(client, model, 'rollback', change);
  return { ...back, deployment: await deployProduction(client, config, model, back, 'rollback') };
}

/**
 * Makes the serving pools follow a registry promotion or rollback: the `deployModel` workflow
 * loads the version (after a rollback normally still loaded, so a no-op) and routes all traffic
 * to it in one switch, so requests in flight are answered by one version or the other and none
 * fail; then the monitor schedule follows (it watches the version's stored plan, or is removed).
 */
export async function deployProduction(client: Client, config: StackConfig, model: string, v: ModelVersion, why: 'promote' | 'rollback'): Promise<DeployResult> {
  const input: DeployInput = { model, version: v.version, ref: v.model, servingTaskQueue: config.taskQueues.serving };
  return client.workflow
    .execute<(i: DeployInput) => Promise<DeployResult>>('deployModel', {
      taskQueue: config.taskQueues.control,
      workflowId: deployWorkflowId(model, v.version, `${why}-${Date.now()}`),
      args: [input],
    })
    .catch((err: unknown) => {
      throw fromFailure(err);
    });
}

/**
 * `plumb models retire`: runs the `retireModel` workflow (registry, pools, monitor schedule; see
 * workflows/retire.ts) and waits for it. A refusal (no production version, unknown model) comes
 * back as the registry's PlumbError, with nothing changed.
 */
export async function retireAndUndeploy(client: Client, config: StackConfig, model: string, change: { by: string; comment?: string }): Promise<RetireModelResult> {
  const input: RetireModelInput = { model, ...change, servingTaskQueue: config.taskQueues.serving };
  return client.workflow
    .execute<(i: RetireModelInput) => Promise<RetireModelResult>>('retireModel', {
      taskQueue: config.taskQueues.control,
      workflowId: retireWorkflowId(model, `${change.by}-${Date.now()}`),
      args: [input],
    })
    .catch((err: unknown) => {
      throw fromFailure(err);
    });
}

function renderProductionChange(model: string, what: 'promoted' | 'rolled back', r: ProductionChange): string {
  if (!r.deployment) return `${model} ${what}: v${r.version} is production in the registry (pools and monitor schedule left as they were: --no-deploy)`;
  return `${model} ${what}: v${r.version} is production and serves all traffic\n${r.deployment.monitor.reason}`;
}
