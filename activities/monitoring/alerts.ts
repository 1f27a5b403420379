import { Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { Alert, AlertState, decideAlerts, type AlertDecision } from '../../lib/alerts.js';
import type { DriftResult } from '../../lib/drift-contracts.js';
import { PlumbError, messageOf } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';

/** Where alerts go. A sink throws to have the dispatch retried (delivery is at least once). */
export interface AlertSink {
  name: string;
  send(alerts: readonly Alert[]): Promise<void>;
}

export const DispatchAlertsInput = z.strictObject({
  alerts: z.array(Alert),
  state: AlertState.prefault({ active: {} }),
  /** The monitor run's time (workflow time), so a retried dispatch decides the same way. */
  now: z.iso.datetime(),
  repeatIntervalMs: z.number().int().positive(),
});
export type DispatchAlertsInput = z.infer<typeof DispatchAlertsInput>;

/**
 * Decides which alerts are due (see `decideAlerts`) and delivers them to every sink. The new
 * state is returned only when every sink accepted the alerts, so a failed delivery is retried
 * with the old state and nothing is lost.
 */
export async function dispatchAlerts(input: DispatchAlertsInput, sinks: readonly AlertSink[]): Promise<AlertDecision> {
  const decision = decideAlerts(input.alerts, input.state, new Date(input.now), input.repeatIntervalMs);
  if (decision.send.length > 0) {
    for (const sink of sinks) await sink.send(decision.send);
  }
  return decision;
}

const logLevel = { info: 'info', warning: 'warn', critical: 'error' } as const;

/** One JSON log line per alert, at info / warn / error by severity. */
export function jsonLogSink(log: Logger): AlertSink {
  return {
    name: 'log',
    send: async (alerts) => {
      for (const a of alerts) log[logLevel[a.severity]](`alert: ${a.title}`, { alert: a });
    },
  };
}

/**
 * POSTs `{"alerts": [...]}` as JSON to `url`. A non-2xx answer or a timeout is an Unavailable
 * error (retryable), naming the status.
 */
export function webhookSink(options: { url: string; headers?: Record<string, string>; timeoutMs?: number }): AlertSink {
  const url = new URL(options.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PlumbError('BadInput', `webhook url: expected http(s), got ${url.protocol}`);
  return {
    name: 'webhook',
    send: async (alerts) => {
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...options.headers },
          body: JSON.stringify({ alerts }),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
      } catch (err) {
        throw new PlumbError('Unavailable', `webhook ${url.origin}${url.pathname}: ${messageOf(err)}`, { cause: err });
      }
      await res.arrayBuffer();
      if (!res.ok) throw new PlumbError('Unavailable', `webhook ${url.origin}${url.pathname} answered ${res.status} ${res.statusText}`);
    },
  };
}

/**
 * Prometheus gauges for the latest drift of each model: `plumb_drift_score{model, column, kind,
 * statistic}` (psi, jensen_shannon, ks_p_value, wasserstein_normalised, chi_squared_p_value, and
 * `verdict` for the score the verdict used), `plumb_drift_detected{model, column, kind}` (0/1) and
 * `plumb_drift_share{model}`. A model's previous series are dropped on update, so a column that
 * left the model leaves no stale gauge behind.
 */
export class DriftGauges {
  private readonly score: Gauge<'model' | 'column' | 'kind' | 'statistic'>;
  private readonly detected: Gauge<'model' | 'column' | 'kind'>;
  private readonly share: Gauge<'model'>;
  private readonly series = new Map<string, { score: Record<string, string>[]; detected: Record<string, string>[] }>();

  constructor(registry: Registry) {
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> =>
      (registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, registers: [registry] });
    this.score = gauge('plumb_drift_score', 'Latest drift statistic per model column', ['model', 'column', 'kind', 'statistic']);
    this.detected = gauge('plumb_drift_detected', 'Whether the latest drift check flagged the column (1) or not (0)', ['model', 'column', 'kind']);
    this.share = gauge('plumb_drift_share', 'Share of drifted features in the latest drift check', ['model']);
  }

  update(model: string, drift: DriftResult): void {
    const previous = this.series.get(model);
    for (const labels of previous?.score ?? []) this.score.remove(labels);
    for (const labels of previous?.detected ?? []) this.detected.remove(labels);
    const next = { score: [] as Record<string, string>[], detected: [] as Record<string, string>[] };
    for (const [kind, list] of [['feature', drift.features], ['prediction', drift.predictions]] as const) {
      for (const f of list) {
        const stats: Record<string, number | undefined> = {
          psi: f.psi,
          jensen_shannon: f.jensenShannon,
          ks_p_value: f.ks?.pValue,
          wasserstein_normalised: f.wasserstein?.normalised,
          chi_squared_p_value: f.chiSquared?.pValue,
          verdict: f.score,
        };
        for (const [statistic, value] of Object.entries(stats)) {
          if (value === undefined) continue;
          const labels = { model, column: f.name, kind, statistic };
          this.score.set(labels, value);
          next.score.push(labels);
        }
        const labels = { model, column: f.name, kind };
        this.detected.set(labels, f.drifted ? 1 : 0);
        next.detected.push(labels);
      }
    }
    this.share.set({ model }, drift.dataset.share);
    this.series.set(model, next);
  }
}
