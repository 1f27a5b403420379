import * as wf from '@temporalio/workflow';
import type { MonitoringActivities } from '../activities/monitoring/monitoring-activities.js';
import type { RegistryActivities } from '../activities/registry-activities.js';
import { driftAlerts, performanceAlerts } from '../lib/alerts.js';
import { failureType } from '../lib/errors.js';
import {
  MONITOR_HISTORY,
  MonitorInput,
  type MonitorInputDraft,
  type MonitorRunResult,
  type MonitorSkipResult,
  type MonitorState,
  type RetrainingRecord,
  type WindowRecord,
} from '../lib/monitor-contracts.js';
import { formatIssues } from '../lib/zod-issues.js';

const NON_RETRYABLE = (['BadInput', 'DataQuality', 'NotFound', 'Integrity'] as const).map((k) => failureType(k));

const act = wf.proxyActivities<MonitoringActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});
const registry = wf.proxyActivities<RegistryActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * One monitoring run for a production model, started by its Schedule (`monitor/<model>`, see
 * lib/schedules.ts): checks the prediction log's last `windowMinutes` against the training data,
 * dispatches the due alerts, writes the HTML report, and after `sustainedWindows` drifted windows
 * in a row (or a performance breach) starts the retraining run `retrain/<model>`, or attaches to
 * the one already running. What must survive between runs (drift streak, alert dedup, latest
 * report, last retraining) is the model's state in the artifact store; the Schedule's overlap
 * policy SKIP keeps runs of one model strictly one after another, so reading it at the start and
 * writing it at the end cannot lose an update.
 *
 * A run first asks the registry whether its version is still production. The schedule normally
 * follows production (docs/monitoring.md), but a production change that bypassed it (a canary
 * promotion without `step.monitor`, a run already scheduled when production moved) must not
 * judge drift, alert or retrain on a version the pools no longer serve: such a run returns
 * `{ skipped }` with the reason and touches nothing.
 */
export async function monitorModel(raw: MonitorInputDraft): Promise<MonitorRunResult> {
  const parsed = MonitorInput.safeParse(raw);
  if (!parsed.success) throw wf.ApplicationFailure.nonRetryable(`monitor input: ${formatIssues(parsed.error)}`, failureType('BadInput'));
  const input = parsed.data;
  const { model, version } = input;

  // Workflow time at the start: the same on replay, and close to the schedule's action time.
  const to = new Date(Math.floor(Date.now() / 1000) * 1000);
  const from = new Date(to.getTime() - input.windowMinutes * 60_000);
  const show = (line: string) => wf.setCurrentDetails(`**monitor ${model}** v${version} — window ${from.toISOString()} – ${to.toISOString()}\n\n${line}`);

  // Runs started by the code before this check replay without it.
  if (wf.patched('monitor-checks-production')) {
    const skipped = await notProduction(model, version);
    if (skipped) {
      wf.log.warn('monitor run skipped', { ...skipped });
      wf.setCurrentDetails(`**monitor ${model}** v${version} — skipped\n\n${skipped.skipped}`);
      return skipped;
    }
  }

  show('reading the prediction log');
  const state = await act.loadMonitorState({ model, version });
  const window = await act.extractPredictionWindow({ model, from: from.toISOString(), to: to.toISOString() });
  if (!window.path) {
    // No predictions: no verdict, no alert, and the drift streak neither grows nor breaks.
    const record: WindowRecord = { from: from.toISOString(), to: to.toISOString(), rows: 0, driftedFeatures: [], performanceBreaches: [] };
    await act.saveMonitorState({ state: remember(state, record) });
    show('no predictions in this window');
    return { model, window: record, streak: state.streak, alertsSent: [] };
  }

  show(`drift check over ${window.rows} predictions`);
  const drift = await act.driftCheck({
    model,
    reference: input.reference,
    current: window.path,
    features: input.features,
    predictions: input.predictions,
    thresholds: input.thresholds,
  });
  const performance = input.performance
    ? await act.performanceCheck({
        predictions: window.path,
        groundTruth: input.performance.groundTruth,
        key: input.performance.key,
        labelColumn: input.performance.labelColumn,
        windowMinutes: input.windowMinutes,
        thresholds: input.performance.thresholds,
      })
    : undefined;

  const decision = await act.dispatchAlerts({
    alerts: [...driftAlerts(model, drift), ...(performance ? performanceAlerts(model, performance) : [])],
    state: state.alerts,
    now: to.toISOString(),
    repeatIntervalMs: input.alertRepeatMinutes * 60_000,
  });
  const report = await act.writeDriftReport({
    title: `${model} v${version}: predictions ${from.toISOString()} – ${to.toISOString()}`,
    generatedAt: to.toISOString(),
    drift,
    performance,
  });

  const breaches = performance?.breaches.map((b) => b.metric) ?? [];
  let streak = drift.dataset.drifted ? state.streak + 1 : 0;
  let retraining: RetrainingRecord | undefined;
  const reason =
    streak >= input.sustainedWindows
      ? `drift in ${streak} consecutive windows (${drift.dataset.driftedFeatures.join(', ')})`
      : breaches.length > 0
        ? `performance below threshold: ${breaches.join(', ')}`
        : undefined;
  if (reason) {
    show(`starting retraining: ${reason}`);
    const run = await act.startRetraining({ model, pipeline: input.retrain.pipeline, params: input.retrain.params });
    // A run id we already recorded means the retraining we asked for earlier is still going.
    retraining = { ...run, started: run.runId !== state.lastRetraining?.runId, reason, at: to.toISOString() };
    streak = 0;
  }

  const record: WindowRecord = {
    from: from.toISOString(),
    to: to.toISOString(),
    rows: window.rows,
    drifted: drift.dataset.drifted,
    share: drift.dataset.share,
    driftedFeatures: drift.dataset.driftedFeatures,
    performanceBreaches: breaches,
    report,
  };
  await act.saveMonitorState({
    state: {
      ...remember(state, record),
      streak,
      alerts: decision.state,
      lastReport: report,
      ...(retraining ? { lastRetraining: retraining } : {}),
    },
  });
  show(
    `${drift.dataset.drifted ? 'drift' : 'no drift'} (streak ${streak}/${input.sustainedWindows}); ` +
      `${decision.send.length} alert(s) sent, ${decision.suppressed.length} suppressed` +
      (retraining ? `; retraining ${retraining.started ? 'started' : 'already running'}: ${retraining.workflowId}` : ''),
  );
  return { model, window: record, streak, alertsSent: decision.send.map((a) => a.key), ...(retraining ? { retraining } : {}) };
}

/** Why `version` must not be monitored any more, or undefined while it is production. */
async function notProduction(model: string, version: string): Promise<MonitorSkipResult | undefined> {
  const { registered, production } = await registry.readProduction({ model });
  if (registered && production !== undefined && String(production) === version) return undefined;
  const now = !registered ? 'the model has no registry' : production === undefined ? 'no version is production (retired?)' : `v${production} is production`;
  return { model, version, skipped: `v${version} is not production (${now}): no drift check, alert or retraining for a version that no longer serves` };
}

function remember(state: MonitorState, window: WindowRecord): MonitorState {
  return { ...state, windows: [...state.windows, window].slice(-MONITOR_HISTORY) };
}
