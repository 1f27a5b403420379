import * as wf from '@temporalio/workflow';
import {
  APPROVAL_HANDLERS,
  type ApprovalDecision,
  ApprovalOptions,
  ApprovalPayload,
  type ApprovalState,
  durationMs,
} from '../lib/approval-contracts.js';
import { PlumbError, toTemporalFailure } from '../lib/errors.js';
import { SEARCH_ATTRIBUTES } from '../lib/pipeline-contracts.js';
import type { VersionRef } from '../lib/registry-contracts.js';
import { formatIssues } from '../lib/zod-issues.js';
import { runOptions } from './pipeline.js';
import { approveVersion, rejectVersion } from './registry-steps.js';

export const approveUpdate = wf.defineUpdate<ApprovalDecision, [ApprovalPayload]>(APPROVAL_HANDLERS.approve);
export const rejectUpdate = wf.defineUpdate<ApprovalDecision, [ApprovalPayload]>(APPROVAL_HANDLERS.reject);
export const approveSignal = wf.defineSignal<[ApprovalPayload]>(APPROVAL_HANDLERS.approve);
export const rejectSignal = wf.defineSignal<[ApprovalPayload]>(APPROVAL_HANDLERS.reject);
export const approvalQuery = wf.defineQuery<ApprovalState | null>(APPROVAL_HANDLERS.state);

const PAYLOAD_HINT = '{"by": "<your name>", "comment": "<why>"}';

/**
 * Waits until an allowed approver approves or rejects `version`, then records the decision in
 * the model's registry and returns it. Approvers send `approve` or `reject` with
 * {"by": "<name>", "comment": "..."}: as a Signal (the Temporal UI's "Send a Signal"; a sender not
 * on the allow-list is ignored with a warning and the gate keeps waiting) or as an Update (the
 * CLI; a sender not on the allow-list is refused with the reason). With `timeout`, no decision
 * by then rejects the version with that reason; `reminderEvery` logs a reminder and refreshes the
 * run's current details while waiting. A run started with `autoApprove` is approved by `auto`.
 * All of it is workflow state: the wait survives restarts of workers and of the server.
 *
 *   const decision = await approvalGate(version, { approvers: ['ml-lead'], timeout: '3 days' });
 *   if (!decision.approved) return { rejected: decision.comment };
 */
export async function approvalGate(version: VersionRef, options: ApprovalOptions): Promise<ApprovalDecision> {
  const parsed = ApprovalOptions.safeParse(options);
  if (!parsed.success) throw toTemporalFailure(new PlumbError('BadInput', `approval gate: ${formatIssues(parsed.error)}`));
  const { approvers, timeout, reminderEvery } = parsed.data;
  const started = Date.now(); // workflow time
  const state: ApprovalState = {
    model: version.model,
    version: version.version,
    approvers,
    waitingSince: new Date(started).toISOString(),
    ...(timeout === undefined ? {} : { deadline: new Date(started + durationMs(timeout)).toISOString() }),
    reminders: 0,
    recorded: false,
    ignored: [],
  };
  wf.setHandler(approvalQuery, () => state, { description: 'The approval gate: version, approvers, deadline, decision, ignored signals' });
  const subject = `${version.model} v${version.version}`;
  const log = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown> = {}) =>
    wf.log[level](msg, { model: version.model, version: version.version, ...fields });

  wf.upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.model, value: version.model },
    { key: SEARCH_ATTRIBUTES.awaitingApproval, value: true },
  ]);
  const showWaiting = () =>
    wf.setCurrentDetails(
      [
        `**awaiting approval of ${subject}**`,
        '',
        `Approvers: ${approvers.join(', ')}${state.deadline ? ` — rejected automatically at ${state.deadline} without a decision` : ''}`,
        '',
        `To decide, send the signal \`approve\` or \`reject\` with the JSON payload \`${PAYLOAD_HINT}\``,
        `(CLI: \`plumb approve ${version.model} ${version.version} --by <you>\`).`,
        ...(state.reminders ? ['', `Reminders sent: ${state.reminders}`] : []),
        ...(state.ignored.length ? ['', `Ignored: ${state.ignored.map((i) => `${i.action} (${i.reason})`).join('; ')}`] : []),
      ].join('\n'),
    );

  /** Why this payload cannot decide, or undefined when it can. */
  const refusal = (raw: unknown): PlumbError | undefined => {
    if (state.decision) return new PlumbError('Conflict', `${subject} is already ${state.decision.approved ? 'approved' : 'rejected'} by ${state.decision.by}`);
    const p = ApprovalPayload.safeParse(raw);
    if (!p.success) return new PlumbError('BadInput', `payload: ${formatIssues(p.error)}; expected ${PAYLOAD_HINT}`);
    if (p.data.version !== undefined && p.data.version !== version.version) {
      return new PlumbError('Conflict', `this run is waiting for ${subject}, not version ${p.data.version}`);
    }
    if (!approvers.includes(p.data.by)) return new PlumbError('Forbidden', `${p.data.by} is not an approver of ${version.model} (approvers: ${approvers.join(', ')})`);
    return undefined;
  };
  const decide = (approved: boolean, raw: ApprovalPayload, via: ApprovalDecision['via']): ApprovalDecision => {
    const p = ApprovalPayload.parse(raw);
    state.decision = { approved, by: p.by, ...(p.comment ? { comment: p.comment } : {}), at: new Date().toISOString(), via };
    return state.decision;
  };

  if (runOptions().autoApprove) {
    decide(true, { by: 'auto', comment: 'approved automatically: the run was started with auto-approve' }, 'auto');
  } else {
    for (const [update, signal, approved] of [
      [approveUpdate, approveSignal, true],
      [rejectUpdate, rejectSignal, false],
    ] as const) {
      const action = approved ? 'approve' : 'reject';
      wf.setHandler(
        update,
        async (p) => {
          const d = decide(approved, p, 'update');
          // The caller's answer means the decision is also in the registry (or says why not).
          await wf.condition(() => state.recorded);
          return d;
        },
        {
          validator: (p) => {
            const why = refusal(p);
            if (why) throw toTemporalFailure(new PlumbError(why.kind, `${action} refused: ${why.message}`));
          },
          description: `${approved ? 'Approve' : 'Reject'} ${subject} as an allowed approver: ${PAYLOAD_HINT}; refused with the reason otherwise`,
        },
      );
      wf.setHandler(
        signal,
        (p) => {
          const why = refusal(p)?.message;
          if (why) {
            state.ignored.push({ action, payload: p, at: new Date().toISOString(), reason: why });
            log('warn', `approval gate: ${action} signal ignored: ${why}`);
            showWaiting();
            return;
          }
          decide(approved, p, 'signal');
        },
        { description: `${approved ? 'Approve' : 'Reject'} ${subject} with ${PAYLOAD_HINT}; ignored (with a logged warning) unless "by" is an approver` },
      );
    }
    showWaiting();
    log('info', `approval gate: waiting for ${approvers.join(', ')}`);
    await waitForDecision(state, timeout === undefined ? undefined : started + durationMs(timeout), reminderEvery === undefined ? undefined : durationMs(reminderEvery), () => {
      state.reminders += 1;
      log('info', `approval gate: reminder ${state.reminders}: ${subject} is still waiting for ${approvers.join(', ')}`);
      showWaiting();
    });
    if (!state.decision) {
      state.decision = {
        approved: false,
        by: 'plumb',
        comment: `no decision within ${String(timeout)}: rejected automatically`,
        at: new Date().toISOString(),
        via: 'timeout',
      };
      log('warn', `approval gate: ${subject} rejected: ${state.decision.comment}`);
    }
  }

  const d = state.decision!;
  await (d.approved ? approveVersion : rejectVersion)(version, d.by, d.comment ?? `${d.approved ? 'approved' : 'rejected'} at the approval gate (${d.via})`, d.at);
  state.recorded = true;
  await wf.condition(wf.allHandlersFinished); // update callers get their answer before the handlers go
  for (const def of [approveUpdate, rejectUpdate]) wf.setHandler(def, undefined);
  for (const def of [approveSignal, rejectSignal]) wf.setHandler(def, undefined);
  wf.upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.awaitingApproval, value: false }]);
  wf.setCurrentDetails(`**${subject} ${d.approved ? 'approved' : 'rejected'}** by ${d.by} (${d.via})${d.comment ? `: ${d.comment}` : ''}`);
  log('info', `approval gate: ${subject} ${d.approved ? 'approved' : 'rejected'} by ${d.by}`, { via: d.via });
  return d;
}

async function waitForDecision(state: ApprovalState, deadline: number | undefined, remindEvery: number | undefined, remind: () => void): Promise<void> {
  let nextReminder = remindEvery === undefined ? undefined : Date.now() + remindEvery;
  for (;;) {
    const now = Date.now();
    if (deadline !== undefined && now >= deadline) return;
    const wakeAt = Math.min(deadline ?? Infinity, nextReminder ?? Infinity);
    const decided = await (wakeAt === Infinity ? wf.condition(() => state.decision !== undefined).then(() => true) : wf.condition(() => state.decision !== undefined, wakeAt - now));
    if (decided || (deadline !== undefined && Date.now() >= deadline)) return;
    if (nextReminder !== undefined && Date.now() >= nextReminder) {
      remind();
      nextReminder += remindEvery!;
    }
  }
}
