import { z } from 'zod';
import type { DriftResult } from './drift-contracts.js';
import type { PerformanceResult } from './metrics/windowed-performance.js';

/**
 * Alerts and their deduplication. An alert names an ongoing problem by its `key`; the dedup state
 * (small, JSON-serialisable, held by the monitor workflow between runs) remembers when each key was
 * last sent, so the same problem is sent once, then again only after the repeat interval, or at
 * once when its severity rises. A key that stops firing is forgotten (and reported as resolved), so
 * its next occurrence alerts again.
 */
export const Severity = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof Severity>;
const rank: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export const Alert = z.object({
  key: z.string().min(1),
  severity: Severity,
  title: z.string().min(1),
  message: z.string(),
  model: z.string().optional(),
  details: z.record(z.string(), z.unknown()).default({}),
});
export type Alert = z.infer<typeof Alert>;

export const AlertState = z.object({
  active: z.record(
    z.string(),
    z.object({ firstAt: z.iso.datetime(), lastSentAt: z.iso.datetime(), severity: Severity, sent: z.number().int().positive() }),
  ),
});
export type AlertState = z.infer<typeof AlertState>;
export const emptyAlertState = (): AlertState => ({ active: {} });

export interface AlertDecision {
  /** Alerts to deliver now. */
  send: Alert[];
  /** Alerts still firing but already sent within the repeat interval. */
  suppressed: Alert[];
  /** Keys that were active and no longer fire. */
  resolved: string[];
  state: AlertState;
}

/**
 * Decides which of the currently firing `alerts` to send at time `now` given the previous state.
 *
 *   let state = emptyAlertState();
 *   ({ send, state } = decideAlerts(alerts, state, now, 6 * 3600_000)); // send = alerts
 *   ({ send, state } = decideAlerts(alerts, state, now + 60_000, 6 * 3600_000)); // send = []
 */
export function decideAlerts(alerts: readonly Alert[], previous: AlertState, now: Date, repeatIntervalMs: number): AlertDecision {
  const at = now.toISOString();
  const active: AlertState['active'] = {};
  const send: Alert[] = [];
  const suppressed: Alert[] = [];
  for (const alert of alerts) {
    if (active[alert.key]) continue; // the same key twice in one run is one problem
    const seen = previous.active[alert.key];
    const due =
      !seen || rank[alert.severity] > rank[seen.severity] || now.getTime() - Date.parse(seen.lastSentAt) >= repeatIntervalMs;
    if (due) {
      send.push(alert);
      active[alert.key] = { firstAt: seen?.firstAt ?? at, lastSentAt: at, severity: alert.severity, sent: (seen?.sent ?? 0) + 1 };
    } else {
      suppressed.push(alert);
      active[alert.key] = seen;
    }
  }
  const resolved = Object.keys(previous.active).filter((key) => !active[key]);
  return { send, suppressed, resolved, state: { active } };
}

/**
 * The alerts a drift result raises for `model`: one warning per drifted feature or prediction
 * column, and a critical one when the dataset as a whole drifts.
 */
export function driftAlerts(model: string, drift: DriftResult): Alert[] {
  const alerts: Alert[] = [];
  if (drift.dataset.drifted) {
    alerts.push({
      key: `drift/${model}/dataset`,
      severity: 'critical',
      title: `${model}: input drift in ${drift.dataset.driftedFeatures.length} of ${drift.features.length} features`,
      message: `drifted: ${drift.dataset.driftedFeatures.join(', ')} (share ${drift.dataset.share.toFixed(2)} ≥ ${drift.dataset.threshold})`,
      model,
      details: { share: drift.dataset.share, features: drift.dataset.driftedFeatures },
    });
  }
  for (const [kind, list] of [['feature', drift.features], ['prediction', drift.predictions]] as const) {
    for (const f of list) {
      if (!f.drifted) continue;
      const p = f.method === 'ks' || f.method === 'chiSquared';
      alerts.push({
        key: `drift/${model}/${kind}/${f.name}`,
        severity: 'warning',
        title: `${model}: ${kind} "${f.name}" drifted`,
        message: `${f.method} ${p ? 'p-value' : 'score'} ${f.score.toPrecision(4)} ${p ? '<' : '≥'} ${f.threshold}`,
        model,
        details: { method: f.method, score: f.score, threshold: f.threshold },
      });
    }
  }
  return alerts;
}

/** A critical alert per performance metric on the wrong side of its threshold in the latest judged window. */
export function performanceAlerts(model: string, performance: PerformanceResult): Alert[] {
  return performance.breaches.map((b) => ({
    key: `performance/${model}/${b.metric}`,
    severity: 'critical' as const,
    title: `${model}: ${b.metric} ${b.value.toFixed(4)} ${b.metric === 'calibrationError' ? 'above' : 'below'} ${b.threshold}`,
    message: `window starting ${b.window}: ${b.metric} = ${b.value.toFixed(4)}, threshold ${b.threshold}`,
    model,
    details: { ...b },
  }));
}
