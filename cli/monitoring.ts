import { spawn } from 'node:child_process';
import { access, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { z } from 'zod';
import { renderDriftReport } from '../activities/monitoring/drift-report.js';
import { computeDrift } from '../activities/monitoring/drift.js';
import { computePerformance } from '../activities/monitoring/performance.js';
import { LocalArtifactStore } from '../lib/artifact-store.js';
import type { StackConfig } from '../lib/config.js';
import { formatIssues } from '../lib/zod-issues.js';
import { DriftInput, type DriftResult, type FeatureDrift } from '../lib/drift-contracts.js';
import { PlumbError, badInput } from '../lib/errors.js';
import { PerformanceInput, type PerformanceResult } from '../lib/metrics/windowed-performance.js';
import { MonitorState, type WindowRecord, monitorReportKey, monitorStateKey } from '../lib/monitor-contracts.js';
import { formatProgress } from '../lib/progress.js';
import type { ArtifactRef } from '../lib/refs.js';

/**
 * `plumb monitor …`: the monitoring checks on files, outside a workflow.
 *
 *   plumb monitor drift --reference train.parquet --current 'log/model=churn/*.parquet' \
 *     --feature age:numeric --feature plan:categorical --prediction probability:numeric --report drift.html
 *   plumb monitor performance --predictions 'log/*.parquet' --ground-truth labels.csv --threshold rocAuc=0.8
 *   plumb monitor report churn --open
 */
export function registerMonitoringCommands(
  program: Command,
  loadConfig: () => Promise<StackConfig>,
  io: { out: (text: string) => void; err: (text: string) => void } = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  },
): void {
  const monitor = program.command('monitor').description('drift and live performance checks');

  monitor
    .command('drift')
    .description('compare a window of the prediction log with the training data, per feature')
    .requiredOption('--reference <path>', 'training data: Parquet file or glob')
    .requiredOption('--current <path...>', 'prediction-log window: Parquet files or globs')
    .requiredOption('--feature <name:type>', 'a feature (numeric or categorical); repeat per feature', collect, [])
    .option('--prediction <name:type[:referenceName]>', 'a model output to check for drift; repeat', collect, [])
    .option('--threshold <key=value>', 'e.g. wasserstein=0.2, pValue=0.01, numericMethod=psi; repeat', collect, [])
    .option('--report <file>', 'also write the HTML report to this file')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { reference: string; current: string[]; feature: string[]; prediction: string[]; threshold: string[]; report?: string; json?: boolean }) => {
      const config = await loadConfig();
      const input = parseWith(DriftInput, {
        reference: opts.reference,
        current: opts.current,
        features: opts.feature.map((f) => parseColumn('--feature', f)),
        predictions: opts.prediction.length ? { columns: opts.prediction.map((p) => parseColumn('--prediction', p)) } : undefined,
        thresholds: parseThresholds(opts.threshold),
      });
      const drift = await computeDrift(input, { store: new LocalArtifactStore(config.artifacts.dir) }, (p) => io.err(formatProgress(p) + '\n'));
      if (opts.report) {
        const path = resolve(opts.report);
        await writeFile(path, renderDriftReport({ title: `Drift: ${opts.current.join(', ')} vs ${opts.reference}`, generatedAt: new Date().toISOString(), drift }));
        io.err(`wrote the drift report to ${path}\n`);
      }
      io.out((opts.json ? JSON.stringify(drift) : describeDrift(drift)) + '\n');
    });

  monitor
    .command('performance')
    .description('join delayed ground truth with the prediction log: accuracy, ROC AUC, calibration per window')
    .requiredOption('--predictions <path...>', 'prediction log: Parquet files or globs')
    .requiredOption('--ground-truth <path...>', 'labels: Parquet or CSV files, one row per key')
    .option('--key <log[:truth]>', 'join columns in the log and in the ground truth', 'request_id')
    .option('--label <column>', 'true label column in the ground truth', 'label')
    .option('--window <minutes>', 'window length in minutes', '60')
    .option('--threshold <key=value>', 'accuracy=0.8, rocAuc=0.75, calibrationError=0.1, minLabelled=50; repeat', collect, [])
    .option('--json', 'print the result as JSON')
    .action(async (opts: { predictions: string[]; groundTruth: string[]; key: string; label: string; window: string; threshold: string[]; json?: boolean }) => {
      const [logKey, truthKey] = opts.key.split(':');
      const input = parseWith(PerformanceInput, {
        predictions: opts.predictions,
        groundTruth: opts.groundTruth,
        key: { predictions: logKey, groundTruth: truthKey ?? logKey },
        labelColumn: opts.label,
        windowMinutes: Number(opts.window),
        thresholds: parseThresholds(opts.threshold),
      });
      const result = await computePerformance(input);
      io.out((opts.json ? JSON.stringify(result) : describePerformance(result)) + '\n');
    });

  monitor
    .command('report <model>')
    .description("print the path of the latest HTML drift report the model's monitor wrote")
    .option('--open', 'also open it in the default browser')
    .option('--json', 'print the path with the window it covers as JSON')
    .action(async (model: string, opts: { open?: boolean; json?: boolean }) => {
      const store = new LocalArtifactStore((await loadConfig()).artifacts.dir);
      const report = await latestReport(store, model);
      if (!report) {
        throw new PlumbError('NotFound', `no drift report for model "${model}" yet: its monitor has not checked a window with predictions (see \`plumb schedule list\`)`);
      }
      if (opts.open) openInBrowser(report.path, io.err);
      const { window } = report;
      io.out(
        (opts.json
          ? JSON.stringify(report)
          : window
            ? `${report.path}\n  ${model} v${report.version}, ${describeWindow(window)}`
            : report.path) + '\n',
      );
    });

  monitor
    .command('status <model>')
    .description("what the model's monitor saw: recent windows, drift streak, active alerts, last retraining")
    .option('--windows <n>', 'recent windows to show', '10')
    .option('--json', 'print the monitor state as JSON')
    .action(async (model: string, opts: { windows: string; json?: boolean }) => {
      const count = Number(opts.windows);
      if (!(Number.isInteger(count) && count > 0)) throw badInput(`--windows "${opts.windows}": expected a whole number ≥ 1`);
      const state = await readMonitorState(new LocalArtifactStore((await loadConfig()).artifacts.dir), model);
      if (!state) throw new PlumbError('NotFound', `model "${model}" has not been monitored yet (see \`plumb schedule list\`)`);
      io.out((opts.json ? JSON.stringify(state) : describeMonitorState(state, count)) + '\n');
    });
}

/** The model's monitor state as its last run saved it, if it has run. */
export async function readMonitorState(store: LocalArtifactStore, model: string): Promise<MonitorState | undefined> {
  const raw = await store.getNamed(monitorStateKey(model));
  return raw ? MonitorState.parse(JSON.parse(raw.toString('utf8'))) : undefined;
}

/** The latest HTML drift report (a file path) with the window it covers, if one was written. */
export async function latestReport(store: LocalArtifactStore, model: string): Promise<{ model: string; version: string; path: string; report: ArtifactRef; window?: WindowRecord } | undefined> {
  const state = await readMonitorState(store, model);
  const path = store.namedPath(monitorReportKey(model));
  if (!state?.lastReport || !(await access(path).then(() => true, () => false))) return undefined;
  const window = [...state.windows].reverse().find((w) => w.report?.sha256 === state.lastReport?.sha256);
  return { model, version: state.version, path, report: state.lastReport, ...(window ? { window } : {}) };
}

export function describeWindow(w: WindowRecord): string {
  const sameDay = w.from.slice(0, 10) === w.to.slice(0, 10);
  const span = `window ${w.from.slice(0, 10)} ${w.from.slice(11, 19)} – ${sameDay ? '' : `${w.to.slice(0, 10)} `}${w.to.slice(11, 19)} UTC`;
  if (w.drifted === undefined) return `${span}: no predictions`;
  const drift = w.drifted
    ? `drift (${(100 * (w.share ?? 0)).toFixed(0)} % of features: ${w.driftedFeatures.join(', ')})`
    : w.driftedFeatures.length
      ? `no dataset drift (drifted: ${w.driftedFeatures.join(', ')})`
      : 'no drift';
  return `${span}: ${w.rows} predictions, ${drift}${w.performanceBreaches.length ? `; performance below threshold: ${w.performanceBreaches.join(', ')}` : ''}`;
}

export function describeMonitorState(s: MonitorState, windows: number): string {
  const alerts = Object.entries(s.alerts.active).map(([key, a]) => `  ${a.severity.padEnd(8)} ${key} (since ${a.firstAt}, sent ${a.sent}×)`);
  return [
    `${s.model} v${s.version}: drift streak ${s.streak}`,
    'recent windows:',
    ...(s.windows.length ? s.windows.slice(-windows).map((w) => `  ${describeWindow(w)}`) : ['  none yet']),
    'active alerts:',
    ...(alerts.length ? alerts : ['  none']),
    s.lastRetraining
      ? `last retraining: ${s.lastRetraining.workflowId} ${s.lastRetraining.started ? 'started' : 'already running'} at ${s.lastRetraining.at} (${s.lastRetraining.reason})`
      : 'no retraining requested',
  ].join('\n');
}

function openInBrowser(path: string, err: (text: string) => void): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [path], { detached: true, stdio: 'ignore' });
  child.once('error', () => err(`could not run ${command}; open the file yourself\n`));
  child.unref();
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseWith<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new PlumbError('BadInput', formatIssues(parsed.error));
  return parsed.data;
}

function parseColumn(flag: string, text: string) {
  const [name, type, referenceName] = text.split(':');
  if (!name || (type !== 'numeric' && type !== 'categorical')) {
    throw badInput(`${flag} "${text}": expected <name>:numeric or <name>:categorical`);
  }
  return referenceName ? { name, type, referenceName } : { name, type };
}

/** `key=value` pairs; numbers where they parse as numbers (zod names a wrong key or value). */
function parseThresholds(pairs: string[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw badInput(`--threshold "${pair}": expected key=value`);
    const value = pair.slice(eq + 1);
    out[pair.slice(0, eq)] = value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return out;
}

function describeDrift(drift: DriftResult): string {
  const line = (f: FeatureDrift) =>
    `  ${f.drifted ? 'DRIFT' : 'ok   '} ${f.name.padEnd(24)} ${f.method.padEnd(13)} ${f.score.toPrecision(4).padStart(10)}  (threshold ${f.threshold})`;
  const d = drift.dataset;
  return [
    `${d.drifted ? 'dataset drift' : 'no dataset drift'}: ${d.driftedFeatures.length} of ${drift.features.length} features drifted (share ${d.share.toFixed(2)}, threshold ${d.threshold})`,
    ...drift.features.map(line),
    ...(drift.predictions.length ? ['predictions:', ...drift.predictions.map(line)] : []),
  ].join('\n');
}

function describePerformance(p: PerformanceResult): string {
  const fmt = (v: number | null) => (v === null ? '   —  ' : v.toFixed(4));
  return [
    'window start              labelled  accuracy  roc_auc  calib_err',
    ...p.windows.map((w) => `${w.start}  ${String(w.labelled).padStart(8)}  ${fmt(w.accuracy)}    ${fmt(w.rocAuc)}   ${fmt(w.calibrationError)}`),
    `${p.unlabelled} predictions without a label yet`,
    ...p.breaches.map((b) => `THRESHOLD BREACHED: ${b.metric} ${b.value.toFixed(4)} ${b.metric === 'calibrationError' ? '>' : '<'} ${b.threshold} (window ${b.window})`),
  ].join('\n');
}
