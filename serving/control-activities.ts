import type { z } from 'zod';
import type { ArtifactStore } from '../lib/artifact-store.js';
import { formatIssues } from '../lib/zod-issues.js';
import { PlumbError, conflict, notFound } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import {
  Assignment,
  AssignmentResult,
  LoadVersionInput,
  type LoadVersionResult,
  MetricsReportInput,
  type MetricsReport,
  type ModelAssignment,
  RemoveModelInput,
  SetRoutingInput,
  UnloadVersionInput,
  emptyAssignment,
} from '../lib/serving.js';
import { defineActivity } from '../activities/define-activity.js';
import type { ServedModels } from './served-models.js';
import { type StatsSnapshot, buildReport } from './version-stats.js';

/**
 * The serving control plane. Each change edits the desired assignment (a document with a
 * generation number in the shared artifact store), applies it to this process (load and warm
 * first, then switch), and publishes it; the other pool processes poll the document and
 * converge. These are plain functions (the HTTP admin API and tests call them directly);
 * `createServingActivities` wraps them as the `plumb-serving` Temporal activities.
 */
export interface ControlDeps {
  served: ServedModels;
  store: ArtifactStore;
  assignmentKey: string;
  pool: string;
  /** Statistics of this process and, when available, of its peers. */
  stats: () => Promise<{ pool: string; stats: StatsSnapshot }[]>;
  log: Logger;
}

export async function loadModelVersion(deps: ControlDeps, raw: LoadVersionInput): Promise<LoadVersionResult> {
  const input = parseInput(LoadVersionInput, raw, 'loadVersion');
  const started = performance.now();
  const next = await change(deps, (doc) => {
    const current = doc.models[input.model] ?? { versions: [] };
    const existing = current.versions.find((v) => v.version === input.version);
    if (existing && existing.ref.sha256 !== input.ref.sha256) {
      throw conflict(`${input.model} version ${input.version} is already served with a different artifact (${existing.ref.sha256})`);
    }
    const versions = existing ? current.versions : [...current.versions, { version: input.version, ref: input.ref }];
    const activate = input.activate ?? (current.routing ? 'none' : 'stable');
    const routing = activate === 'stable' ? { ...current.routing, stable: input.version } : current.routing;
    if (routing && routing.candidate?.version === routing.stable) delete routing.candidate;
    return { ...current, versions, ...(routing ? { routing } : {}) };
  }, input.model);
  const routing = next.models[input.model]?.routing;
  return {
    model: input.model,
    version: input.version,
    sha256: input.ref.sha256,
    generation: next.generation,
    loadMs: Math.round(performance.now() - started),
    ...(routing ? { stable: routing.stable } : {}),
  };
}

export async function setModelRouting(deps: ControlDeps, raw: SetRoutingInput): Promise<AssignmentResult> {
  const { model, ...routing } = parseInput(SetRoutingInput, raw, 'setRouting');
  const next = await change(deps, (doc) => {
    const current = doc.models[model];
    if (!current) throw notFound(`model ${model} is not served: load a version first`);
    for (const v of [routing.stable, routing.candidate?.version]) {
      if (v !== undefined && !current.versions.some((s) => s.version === v)) throw notFound(`${model} version ${v} is not loaded: load it before routing to it`);
    }
    if (routing.candidate?.version === routing.stable) throw conflict(`candidate ${routing.stable} is also the stable version`);
    return { ...current, routing };
  }, model);
  return AssignmentResult.parse({ generation: next.generation, routing: next.models[model]?.routing });
}

export async function unloadModelVersion(deps: ControlDeps, raw: UnloadVersionInput): Promise<AssignmentResult> {
  const { model, version } = parseInput(UnloadVersionInput, raw, 'unloadVersion');
  const next = await change(deps, (doc) => {
    const current = doc.models[model];
    if (!current) return undefined;
    const r = current.routing;
    if (r && (r.stable === version || r.candidate?.version === version)) {
      throw conflict(`${model} version ${version} takes traffic (stable ${r.stable}${r.candidate ? `, candidate ${r.candidate.version}` : ''}): route away from it first`);
    }
    const versions = current.versions.filter((v) => v.version !== version);
    return versions.length === 0 && !r ? undefined : { ...current, versions };
  }, model);
  return AssignmentResult.parse({ generation: next.generation, routing: next.models[model]?.routing });
}

/** Drops the model from the assignment (a retired model): the pools unload it and answer its requests 404. Removing an absent model is fine. */
export async function removeModel(deps: ControlDeps, raw: RemoveModelInput): Promise<AssignmentResult> {
  const { model } = parseInput(RemoveModelInput, raw, 'removeModel');
  const next = await change(deps, () => undefined, model);
  return { generation: next.generation };
}

export async function reportModelMetrics(deps: ControlDeps, raw: MetricsReportInput): Promise<MetricsReport> {
  const input = parseInput(MetricsReportInput, raw, 'reportMetrics');
  return buildReport(input.model, new Date(input.from), new Date(input.to), await deps.stats());
}

/** The desired assignment as published, or this process's applied one if that is newer. */
export async function readDesired(deps: Pick<ControlDeps, 'store' | 'assignmentKey' | 'served' | 'log'>): Promise<Assignment> {
  const raw = await deps.store.getNamed(deps.assignmentKey);
  let published = emptyAssignment();
  if (raw) {
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      json = undefined;
    }
    const parsed = Assignment.safeParse(json);
    if (parsed.success) published = parsed.data;
    else deps.log.error('the published assignment is invalid; ignoring it', { key: deps.assignmentKey });
  }
  return published.generation >= deps.served.assignment.generation ? published : deps.served.assignment;
}

/**
 * Read–modify–apply–publish. The change is applied here first (a version that cannot load fails
 * the call before anything is published); after publishing, the document is read back and the
 * change redone on top of a concurrent writer's generation if one slipped in between.
 */
async function change(
  deps: ControlDeps,
  edit: (doc: Assignment) => ModelAssignment | undefined,
  model: string,
): Promise<Assignment> {
  // Changes from one process run one at a time: two interleaved read–publish cycles can each read
  // back their own document and both succeed, the later publish silently dropping the other's edit.
  const previous = changing.get(deps.served) ?? Promise.resolve();
  const mine = previous.then(() => changeNow(deps, edit, model));
  changing.set(deps.served, mine.catch(() => undefined));
  return mine;
}

const changing = new WeakMap<ServedModels, Promise<unknown>>();

async function changeNow(
  deps: ControlDeps,
  edit: (doc: Assignment) => ModelAssignment | undefined,
  model: string,
): Promise<Assignment> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const base = await readDesired(deps);
    const models = { ...base.models };
    const edited = edit(base);
    if (edited) models[model] = edited;
    else delete models[model];
    const next: Assignment = { generation: base.generation + 1, updatedAt: new Date().toISOString(), models };
    await deps.served.apply(next, { strict: true });
    await deps.store.putNamed(deps.assignmentKey, JSON.stringify(next, null, 2));
    const readBack = await readDesired(deps);
    if (readBack.generation === next.generation && readBack.updatedAt === next.updatedAt) {
      deps.log.info('assignment published', { generation: next.generation, model });
      return next;
    }
    deps.log.warn('another writer changed the assignment concurrently; redoing the change', { generation: next.generation, model });
  }
  throw new PlumbError('Unavailable', 'the assignment kept changing concurrently; retry');
}

/** The `plumb-serving` activities. Register with `new Worker({ taskQueue: config.taskQueues.serving, activities })`. */
export function createServingActivities(deps: ControlDeps, log: Logger) {
  return {
    servingLoadVersion: defineActivity('servingLoadVersion', LoadVersionInput, log, (input) => loadModelVersion(deps, input)),
    servingSetRouting: defineActivity('servingSetRouting', SetRoutingInput, log, (input) => setModelRouting(deps, input)),
    servingUnloadVersion: defineActivity('servingUnloadVersion', UnloadVersionInput, log, (input) => unloadModelVersion(deps, input)),
    servingRemoveModel: defineActivity('servingRemoveModel', RemoveModelInput, log, (input) => removeModel(deps, input)),
    servingReportMetrics: defineActivity('servingReportMetrics', MetricsReportInput, log, (input) => reportModelMetrics(deps, input)),
  };
}

export type ServingActivities = ReturnType<typeof createServingActivities>;

function parseInput<S extends z.ZodType>(schema: S, raw: unknown, name: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new PlumbError('BadInput', `${name}: ${formatIssues(parsed.error)}`);
  return parsed.data;
}
