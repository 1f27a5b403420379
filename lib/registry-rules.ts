import { PlumbError, conflict, notFound } from './errors.js';
import {
  type Decision,
  type DecisionAction,
  type ModelVersion,
  RegisterInput,
  type RegisterResult,
  type RegistryHistory,
  type RegistryListing,
  type RegistryState,
  RetireInput,
  RollbackInput,
  VersionChangeInput,
} from './registry-contracts.js';
import { formatIssues } from './zod-issues.js';
import type { z } from 'zod';

/**
 * The registry's rules as pure functions over its state, so the workflow's update validators and
 * handlers share one implementation and the rules are tested without Temporal.
 *
 * Each change has a `check` (throws a PlumbError saying why the change is refused, touches
 * nothing) and an `apply` (checks, then changes the state). A change repeated with the same
 * action, author and time (a retried activity) is recognised and applied once.
 *
 *   checkPromote(state, { version: 3, by: 'ana' });          // throws Conflict if 3 is not approved
 *   applyPromote(state, { version: 3, by: 'ana' }, new Date()); // 3 is production, the old one archived
 *   applyRetire(state, { by: 'ana' }, new Date());             // no version is production any more
 */

export type VersionChange = 'approve' | 'reject' | 'promote' | 'archive';

function parse<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new PlumbError('BadInput', `${what}: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

function findVersion(state: RegistryState, version: number): ModelVersion {
  const found = state.versions.find((v) => v.version === version);
  if (!found) {
    const known = state.versions.length ? `versions 1-${state.versions.length}` : 'no versions yet';
    throw notFound(`model ${state.model} has no version ${version} (${known})`);
  }
  return found;
}

function isRepeat(state: RegistryState, action: DecisionAction, by: string, at: string | undefined): boolean {
  if (at === undefined) return false;
  return state.versions.some((v) => v.decisions.some((d) => d.action === action && d.by === by && d.at === at));
}

const decision = (action: DecisionAction, input: { by: string; comment?: string | undefined; at?: string | undefined }, now: Date): Decision => ({
  action,
  by: input.by,
  at: input.at ?? now.toISOString(),
  ...(input.comment === undefined ? {} : { comment: input.comment }),
});

/** The version a pipeline run registered before, when it did (register is keyed by the run). */
export function registeredBy(state: RegistryState, workflowId: string, runId: string): ModelVersion | undefined {
  return state.versions.find((v) => v.lineage.workflowId === workflowId && v.lineage.runId === runId);
}

export function checkRegister(_state: RegistryState, raw: RegisterInput): void {
  parse(RegisterInput, raw, 'register');
}

export function applyRegister(state: RegistryState, raw: RegisterInput, now: Date): RegisterResult {
  const input = parse(RegisterInput, raw, 'register');
  const earlier = registeredBy(state, input.lineage.workflowId, input.lineage.runId);
  if (earlier) return { model: state.model, version: earlier.version, created: false };
  const version = state.versions.length + 1;
  const registered = decision('register', input, now);
  state.versions.push({
    version,
    status: 'registered',
    model: input.model,
    ...(input.card ? { card: input.card } : {}),
    sha256: input.model.sha256,
    bytes: input.model.bytes,
    lineage: input.lineage,
    metrics: input.metrics,
    registeredAt: registered.at,
    decisions: [],
  });
  record(state, version, registered);
  state.aliases.candidate = version;
  return { model: state.model, version, created: true };
}

const allowedFrom: Record<VersionChange, { from: ModelVersion['status'][]; why: string }> = {
  approve: { from: ['registered'], why: 'only a registered version can be approved' },
  reject: { from: ['registered', 'approved'], why: 'only a registered or approved version can be rejected (roll back a production version instead)' },
  promote: { from: ['approved'], why: 'only a registered and approved version can be promoted' },
  archive: { from: ['registered', 'approved', 'rejected'], why: 'the production version cannot be archived (promote another version, roll back, or retire the model first)' },
};

export function checkVersionChange(state: RegistryState, change: VersionChange, raw: VersionChangeInput): void {
  const input = parse(VersionChangeInput, raw, change);
  const target = findVersion(state, input.version);
  if (isRepeat(state, change, input.by, input.at)) return;
  const rule = allowedFrom[change];
  if (!rule.from.includes(target.status)) {
    throw conflict(`cannot ${change} ${state.model} version ${input.version}: it is ${target.status}; ${rule.why}`, {
      model: state.model,
      version: input.version,
      status: target.status,
    });
  }
}

export function applyVersionChange(state: RegistryState, change: VersionChange, raw: VersionChangeInput, now: Date): ModelVersion {
  checkVersionChange(state, change, raw);
  const input = parse(VersionChangeInput, raw, change);
  const target = findVersion(state, input.version);
  if (isRepeat(state, change, input.by, input.at)) return target;
  const d = decision(change, input, now);
  switch (change) {
    case 'approve':
      target.status = 'approved';
      state.aliases.candidate = target.version;
      break;
    case 'reject':
    case 'archive':
      target.status = change === 'reject' ? 'rejected' : 'archived';
      if (state.aliases.candidate === target.version) delete state.aliases.candidate;
      break;
    case 'promote': {
      const previous = state.aliases.production;
      if (previous !== undefined) {
        retire(state, previous, d);
        state.rollbackStack.push(previous);
      }
      record(state, target.version, d);
      crown(state, target, d.at);
      if (state.aliases.candidate === target.version) delete state.aliases.candidate;
      return target;
    }
  }
  record(state, target.version, d);
  return target;
}

export function checkRollback(state: RegistryState, raw: RollbackInput): void {
  const input = parse(RollbackInput, raw, 'rollback');
  if (isRepeat(state, 'rollback', input.by, input.at)) return;
  const current = state.aliases.production;
  if (current === undefined) throw conflict(`cannot roll back ${state.model}: no version is in production`, { model: state.model });
  if (state.rollbackStack.length === 0) {
    throw conflict(`cannot roll back ${state.model}: version ${current} is production and there is no previous production version`, {
      model: state.model,
      production: current,
    });
  }
}

/** Production goes back to the version that was production before the current one; the current one is archived. */
export function applyRollback(state: RegistryState, raw: RollbackInput, now: Date): ModelVersion {
  checkRollback(state, raw);
  const input = parse(RollbackInput, raw, 'rollback');
  if (isRepeat(state, 'rollback', input.by, input.at)) return findVersion(state, state.aliases.production!);
  const current = state.aliases.production!;
  const target = findVersion(state, state.rollbackStack.pop()!);
  const d = decision('rollback', input, now);
  retire(state, current, d);
  record(state, target.version, d);
  crown(state, target, d.at);
  return target;
}

export function checkRetire(state: RegistryState, raw: RetireInput): void {
  const input = parse(RetireInput, raw, 'retire');
  if (isRepeat(state, 'retire', input.by, input.at)) return;
  if (state.aliases.production === undefined) {
    const last = state.productionHistory[state.productionHistory.length - 1];
    throw conflict(
      `cannot retire ${state.model}: no version is in production${last ? ` (v${last.version} was, until ${last.to})` : ' (none ever was)'}`,
      { model: state.model },
    );
  }
}

/**
 * Takes the model out of production: the production version is archived and no version is
 * production any more. The rollback stack is emptied: a later promotion starts a new production
 * line, and rolling it back must not bring a retired version back by surprise.
 */
export function applyRetire(state: RegistryState, raw: RetireInput, now: Date): ModelVersion {
  checkRetire(state, raw);
  const input = parse(RetireInput, raw, 'retire');
  if (isRepeat(state, 'retire', input.by, input.at)) {
    return lastWhere(state.versions, (v) => v.decisions.some((d) => d.action === 'retire' && d.by === input.by && d.at === input.at))!;
  }
  const current = state.aliases.production!;
  const d = decision('retire', input, now);
  record(state, current, d);
  retire(state, current, d);
  delete state.aliases.production;
  state.rollbackStack = [];
  return findVersion(state, current);
}

function retire(state: RegistryState, version: number, d: Decision): void {
  const old = findVersion(state, version);
  old.status = 'archived';
  const why =
    d.action === 'rollback'
      ? `rolled back${d.comment ? `: ${d.comment}` : ''}`
      : d.action === 'retire'
        ? 'retired: the model left production'
        : `replaced in production by a promotion`;
  record(state, version, { action: 'archive', by: d.by, at: d.at, comment: why });
  const open = lastWhere(state.productionHistory, (p) => p.version === version && p.to === undefined);
  if (open) open.to = d.at;
}

function crown(state: RegistryState, target: ModelVersion, at: string): void {
  target.status = 'production';
  state.aliases.production = target.version;
  state.productionHistory.push({ version: target.version, from: at });
}

/** The version that was production at `time`, or null when none was. */
export function productionAt(state: RegistryState, time: string): number | null {
  const t = Date.parse(time);
  if (Number.isNaN(t)) throw new PlumbError('BadInput', `productionAt: "${time}" is not a date-time (expected ISO 8601, e.g. 2026-01-31T12:00:00Z)`);
  const period = lastWhere(state.productionHistory, (p) => Date.parse(p.from) <= t && (p.to === undefined || t < Date.parse(p.to)));
  return period?.version ?? null;
}

export function getVersion(state: RegistryState, version: number): ModelVersion {
  return findVersion(state, version);
}

export function listing(state: RegistryState): RegistryListing {
  return {
    model: state.model,
    aliases: { ...state.aliases },
    versions: state.versions.map((v) => ({
      version: v.version,
      status: v.status,
      sha256: v.sha256,
      bytes: v.bytes,
      registeredAt: v.registeredAt,
      metrics: v.metrics,
      aliases: [
        ...(state.aliases.production === v.version ? (['production'] as const) : []),
        ...(state.aliases.candidate === v.version ? (['candidate'] as const) : []),
      ],
    })),
  };
}

export function history(state: RegistryState): RegistryHistory {
  return { model: state.model, decisions: state.audit.map((d) => ({ ...d })), productionHistory: state.productionHistory.map((p) => ({ ...p })) };
}

/** A decision goes on its version and, in order, on the audit trail. */
function record(state: RegistryState, version: number, d: Decision): void {
  findVersion(state, version).decisions.push(d);
  state.audit.push({ ...d, version });
}

function lastWhere<T>(items: T[], test: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return items[i];
  return undefined;
}
