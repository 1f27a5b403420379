import * as wf from '@temporalio/workflow';
import { analyseCanary, stepWindowStart } from '../lib/canary-analysis.js';
import {
  CANARY_HANDLERS,
  type CanaryAnalysis,
  CanaryControl,
  CanaryInput,
  type CanaryOutcome,
  type CanaryResult,
  type CanaryState,
  METRICS_SETTLE_MS,
} from '../lib/canary-contracts.js';
import { durationMs } from '../lib/approval-contracts.js';
import { PlumbError, toTemporalFailure } from '../lib/errors.js';
import { SEARCH_ATTRIBUTES } from '../lib/pipeline-contracts.js';
import type { VersionMetrics } from '../lib/serving.js';
import { formatIssues } from '../lib/zod-issues.js';
import type { ServingActivities } from '../serving/control-activities.js';
import { promoteVersion, rejectVersion } from './registry-steps.js';

type Action = 'pause' | 'resume' | 'abort' | 'promoteNow';

export const pauseUpdate = wf.defineUpdate<CanaryState, [CanaryControl]>(CANARY_HANDLERS.pause);
export const resumeUpdate = wf.defineUpdate<CanaryState, [CanaryControl]>(CANARY_HANDLERS.resume);
export const abortUpdate = wf.defineUpdate<CanaryState, [CanaryControl]>(CANARY_HANDLERS.abort);
export const promoteNowUpdate = wf.defineUpdate<CanaryState, [CanaryControl]>(CANARY_HANDLERS.promoteNow);
export const pauseSignal = wf.defineSignal<[CanaryControl]>(CANARY_HANDLERS.pause);
export const resumeSignal = wf.defineSignal<[CanaryControl]>(CANARY_HANDLERS.resume);
export const abortSignal = wf.defineSignal<[CanaryControl]>(CANARY_HANDLERS.abort);
export const promoteNowSignal = wf.defineSignal<[CanaryControl]>(CANARY_HANDLERS.promoteNow);
export const analysesQuery = wf.defineQuery<CanaryAnalysis[]>(CANARY_HANDLERS.analyses);
export const canaryStateQuery = wf.defineQuery<CanaryState>(CANARY_HANDLERS.state);

const PAYLOAD_HINT = '{"by": "<your name>", "reason": "<why>"}';

const DESCRIPTIONS: Record<Action, string> = {
  pause: 'Hold the current traffic weights: no analysis, no next step, until resume',
  resume: 'Continue a paused rollout at the step it was paused in',
  abort: 'Roll back now: all traffic to the stable version, the candidate rejected in the registry',
  promoteNow: 'Skip the remaining steps: promote the candidate in the registry and route all traffic to it',
};

function serving(taskQueue: string): wf.ActivityInterfaceFor<ServingActivities> {
  return wf.proxyActivities<ServingActivities>({
    taskQueue,
    startToCloseTimeout: '5 minutes',
    retry: { maximumInterval: '30 seconds', nonRetryableErrorTypes: ['PlumbBadInput', 'PlumbNotFound', 'PlumbConflict'] },
  });
}

/**
 * Rolls a candidate out on the serving pools step by step and promotes or rolls it back on the
 * evidence. The candidate is loaded beside the stable version; each step routes its weight to it,
 * waits the interval on a durable timer (plus the 10 s the pools' metric buckets need to be
 * complete), then judges the step's window with `analyseCanary`. Too few requests waits another
 * interval, up to `maxWaitForRequests`; a failed analysis beyond `toleratedFailures` sends all
 * traffic back to stable at once and rejects the candidate in the registry with the analysis as
 * the reason. After the 100 % step passes, the candidate is promoted in the registry (the old
 * production version stays the rollback target) and served as stable.
 *
 * Manual controls, as Updates (refused with the reason when they do not apply) and as Signals
 * (ignored with a logged warning): pause, resume, abort, promoteNow, each with {"by", "reason"}.
 * Every analysis is in the `analyses` query, the run's current details and the result.
 */
export async function canaryRollout(raw: CanaryInput): Promise<CanaryResult> {
  const parsed = CanaryInput.safeParse(raw);
  if (!parsed.success) throw toTemporalFailure(new PlumbError('BadInput', `canary input: ${formatIssues(parsed.error)}`));
  const { model, candidate, stable, policy, servingTaskQueue } = parsed.data;
  const pool = serving(servingTaskQueue);
  const cand = String(candidate.version);
  const stab = String(stable);
  const subject = `${model} v${cand}`;
  const intervalMs = durationMs(policy.interval);
  const maxWaitMs = durationMs(policy.maxWaitForRequests);

  const state: CanaryState = {
    model,
    candidate: cand,
    stable: stab,
    status: 'running',
    phase: policy.shadow ? 'shadow' : 'live',
    step: policy.shadow ? -1 : 0,
    weight: 0,
    failures: 0,
    analyses: [],
  };
  let pending: { action: 'abort' | 'promoteNow'; by: string; reason?: string } | undefined;
  let finished = false;

  const log = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown> = {}) => wf.log[level](`canary ${subject}: ${msg}`, { model, version: cand, ...fields });
  const show = (line: string) => {
    const rows = state.analyses.map(
      (a) =>
        `| ${a.phase === 'shadow' ? 'shadow' : `${a.weight} %`} | ${a.candidate.requests} | ${a.stable.requests} | ${fmt(a.errorRateDelta, 4)} | ${fmt(a.p99Ratio, 2)} | ${fmt(a.predictionPsi, 3)} | ${a.verdict} | ${a.reason} |`,
    );
    wf.setCurrentDetails(
      [
        `**canary ${subject}** (stable v${stab}) — ${state.status}, ${state.phase === 'shadow' ? 'shadow phase' : `step ${state.step + 1}/${policy.steps.length} at ${state.weight} %`}`,
        '',
        line,
        ...(rows.length ? ['', '| step | candidate req | stable req | error Δ | p99 ratio | PSI | verdict | reason |', '|---|---|---|---|---|---|---|---|', ...rows] : []),
        '',
        `Controls (Update or Signal, payload \`${PAYLOAD_HINT}\`): \`pause\`, \`resume\`, \`abort\`, \`promoteNow\` (CLI: \`plumb rollout pause|resume|abort|promote-now ${model}\`).`,
      ].join('\n'),
    );
  };
  const stage = (value: string) => wf.upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: `canary ${value}` }]);

  /** Why `action` cannot be applied now, or undefined when it can. */
  const refusal = (action: Action, raw: unknown): PlumbError | undefined => {
    const p = CanaryControl.safeParse(raw);
    if (!p.success) return new PlumbError('BadInput', `payload: ${formatIssues(p.error)}; expected ${PAYLOAD_HINT}`);
    if (finished || pending || (state.status !== 'running' && state.status !== 'paused')) {
      return new PlumbError('Conflict', `the rollout of ${subject} is ${pending ? `already being ${pending.action === 'abort' ? 'aborted' : 'promoted'}` : state.status}`);
    }
    if (action === 'pause' && state.status === 'paused') return new PlumbError('Conflict', `the rollout of ${subject} is already paused`);
    if (action === 'resume' && state.status !== 'paused') return new PlumbError('Conflict', `the rollout of ${subject} is not paused`);
    return undefined;
  };
  const apply = (action: Action, raw: CanaryControl) => {
    const p = CanaryControl.parse(raw);
    state.lastAction = { action, by: p.by, ...(p.reason ? { reason: p.reason } : {}), at: new Date().toISOString() };
    if (action === 'pause') state.status = 'paused';
    else if (action === 'resume') state.status = 'running';
    else pending = { action, by: p.by, ...(p.reason ? { reason: p.reason } : {}) };
    log('info', `${action} by ${p.by}`, { reason: p.reason });
    show(`${action} by ${p.by}${p.reason ? `: ${p.reason}` : ''}`);
  };

  const handlers = [
    ['pause', pauseUpdate, pauseSignal],
    ['resume', resumeUpdate, resumeSignal],
    ['abort', abortUpdate, abortSignal],
    ['promoteNow', promoteNowUpdate, promoteNowSignal],
  ] as const;
  for (const [action, update, signal] of handlers) {
    wf.setHandler(
      update,
      async (p) => {
        apply(action, p);
        // Abort and promote-now answer once the pools and the registry reflect them.
        if (action === 'abort' || action === 'promoteNow') await wf.condition(() => finished);
        return state;
      },
      {
        validator: (p) => {
          const why = refusal(action, p);
          if (why) throw toTemporalFailure(new PlumbError(why.kind, `${action} refused: ${why.message}`));
        },
        description: `${DESCRIPTIONS[action]}. Payload ${PAYLOAD_HINT}`,
      },
    );
    wf.setHandler(
      signal,
      (p) => {
        const why = refusal(action, p);
        if (why) {
          log('warn', `${action} signal ignored: ${why.message}`);
          return;
        }
        apply(action, p);
      },
      { description: `${DESCRIPTIONS[action]}. Payload ${PAYLOAD_HINT}; ignored (with a logged warning) when it does not apply` },
    );
  }
  wf.setHandler(analysesQuery, () => state.analyses, { description: 'Every analysis so far: step, weight, window, numbers, verdict, reason' });
  wf.setHandler(canaryStateQuery, () => state, { description: 'The rollout: status, phase, step, weight, failures, analyses, last manual action' });
  wf.upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.model, value: model }]);

  const finish = async (outcome: CanaryOutcome, reason: string): Promise<CanaryResult> => {
    let serving: string;
    delete state.nextAnalysisAt;
    if (outcome === 'promoted') {
      state.status = 'promoting';
      show(`promoting: ${reason}`);
      await promoteVersion({ model, version: candidate.version }, pending?.by ?? 'canary', reason);
      await pool.servingSetRouting({ model, stable: cand });
      state.status = 'promoted';
      serving = cand;
    } else {
      state.status = 'rollingBack';
      // Traffic first: the registry can wait a moment, users should not.
      await pool.servingSetRouting({ model, stable: stab });
      show(`rolling back: ${reason}`);
      await rejectVersion({ model, version: candidate.version }, pending?.by ?? 'canary', reason);
      state.status = outcome;
      serving = stab;
    }
    state.weight = outcome === 'promoted' ? 100 : 0;
    stage(outcome === 'promoted' ? 'promoted' : 'rolled back');
    show(`**${outcome}**: ${reason}`);
    log(outcome === 'promoted' ? 'info' : 'warn', `${outcome}: ${reason}`);
    finished = true;
    await wf.condition(wf.allHandlersFinished);
    return { model, candidate: cand, stable: stab, outcome, reason, serving, analyses: state.analyses };
  };
  const manual = (): Promise<CanaryResult> => {
    const p = pending!;
    const why = `${p.action === 'abort' ? 'aborted' : 'promoted'} by ${p.by}${p.reason ? `: ${p.reason}` : ''}`;
    return finish(p.action === 'abort' ? 'aborted' : 'promoted', why);
  };

  show(`loading ${subject} on the serving pools`);
  await pool.servingLoadVersion({ model, version: cand, ref: candidate.ref, activate: 'none' });
  if (pending) return manual();

  let baseline: { metrics: VersionMetrics; from: string } | undefined;
  const phases: { phase: 'shadow' | 'live'; step: number; weight: number; minMs: number }[] = [
    ...(policy.shadow ? [{ phase: 'shadow' as const, step: -1, weight: policy.shadow.weight, minMs: durationMs(policy.shadow.duration) }] : []),
    ...policy.steps.map((weight, step) => ({ phase: 'live' as const, step, weight, minMs: intervalMs })),
  ];

  for (const p of phases) {
    state.phase = p.phase;
    state.step = p.step;
    state.weight = p.phase === 'shadow' ? 0 : p.weight;
    // At 100 % the candidate is routed all traffic; it becomes stable only once promoted.
    await pool.servingSetRouting({ model, stable: stab, candidate: { version: cand, weight: p.weight, mode: p.phase } });
    stage(p.phase === 'shadow' ? 'shadow' : `${p.weight}%`);
    let from = stepWindowStart(Date.now());
    let judgeAt = from + p.minMs + METRICS_SETTLE_MS;
    const waitLimit = judgeAt + maxWaitMs;
    for (;;) {
      state.nextAnalysisAt = new Date(judgeAt).toISOString();
      show(`${p.phase === 'shadow' ? 'shadow scoring' : `${p.weight} % of traffic on the candidate`}; analysis at ${new Date(judgeAt).toISOString()}`);
      // A durable timer that pause, abort and promote-now interrupt; while paused the weights hold.
      await wf.condition(() => pending !== undefined || (state.status === 'running' && Date.now() >= judgeAt), Math.max(judgeAt - Date.now(), 1));
      if (pending) return manual();
      if (state.status === 'paused') {
        show('paused: weights held until resume');
        await wf.condition(() => pending !== undefined || state.status === 'running');
        if (pending) return manual();
      }
      if (Date.now() < judgeAt) continue;

      const to = Date.now() - METRICS_SETTLE_MS;
      const report = await pool.servingReportMetrics({ model, from: new Date(from).toISOString(), to: new Date(Math.max(to, from + 1000)).toISOString() });
      if (pending) return manual();
      let analysis = analyseCanary(report, {
        phase: p.phase,
        step: p.step,
        weight: p.weight,
        candidate: cand,
        stable: stab,
        minRequests: policy.minRequests,
        thresholds: policy.thresholds,
        ...(baseline ? { baseline } : {}),
      });
      if (analysis.verdict === 'inconclusive' && Date.now() + intervalMs > waitLimit) {
        analysis = { ...analysis, verdict: 'fail', failedCheck: 'traffic', reason: `${analysis.reason} after waiting ${policy.maxWaitForRequests} more` };
      }
      state.analyses.push(analysis);
      const stableNow = report.versions.find((v) => v.version === stab);
      if (stableNow && stableNow.requests >= policy.minRequests) baseline = { metrics: stableNow, from: report.from };
      log(analysis.verdict === 'fail' ? 'warn' : 'info', `${p.phase} ${p.weight} %: ${analysis.verdict}: ${analysis.reason}`);

      if (analysis.verdict === 'pass') break;
      if (analysis.verdict === 'inconclusive') {
        judgeAt = Date.now() + intervalMs; // same window start: requests keep accumulating
        continue;
      }
      state.failures += 1;
      if (state.failures > policy.toleratedFailures || analysis.failedCheck === 'traffic') {
        const where = p.phase === 'shadow' ? 'shadow phase' : `step ${p.weight} %`;
        return finish('rolledBack', `canary failed at ${where}: ${analysis.reason}`);
      }
      from = stepWindowStart(Date.now());
      judgeAt = from + intervalMs + METRICS_SETTLE_MS;
    }
  }
  return finish('promoted', `all ${policy.steps.length} steps passed${policy.shadow ? ' after the shadow phase' : ''}`);
}

const fmt = (x: number | undefined, digits: number) => (x === undefined ? 'n/a' : x.toFixed(digits));
