import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { LocalArtifactStore } from '../lib/artifact-store.js';
import { type CanaryAnalysis, type CanaryPolicyInput, type CanaryResult, canaryWorkflowId } from '../lib/canary-contracts.js';
import type { StackConfig } from '../lib/config.js';
import { PlumbError } from '../lib/errors.js';
import { type MonitorState, retrainWorkflowId } from '../lib/monitor-contracts.js';
import { queryRegistry } from '../lib/registry-client.js';
import type { RegistryListing } from '../lib/registry-contracts.js';
import { connectClient } from './client.js';
import { describeWindow, latestReport, readMonitorState } from './monitoring.js';
import { note } from './output.js';
import { listRollouts } from './rollouts.js';
import { followRun, runUrl } from './run-commands.js';
import { predict } from './serving.js';
import { readStackState } from './stack.js';
import { startInForeground, untilSignalled } from './stack-commands.js';
import { type FeatureShift, type Traffic, describeShift, describeStats, heldOutRows, startTraffic } from './traffic.js';

interface ChurnResult {
  version: number;
  production: boolean;
  rollout?: string;
  metrics: { rocAuc: number; prAuc: number; f1: number; logLoss: number };
  baseline: { rocAuc: number };
}

/** A month-to-month fibre customer with short tenure and many support calls: a likely churner. */
const EXAMPLE_CUSTOMER = {
  tenure_months: 3,
  monthly_charges: 95,
  total_charges: 285,
  support_calls: 4,
  log_usage_gb: 2.1,
  senior_citizen: 0,
  avg_monthly_spend: 95,
  contract: 'month-to-month',
  payment_method: 'electronic_check',
  internet_service: 'fiber',
  region: 'north',
};

/** Short enough to watch: three steps of 20 seconds each at the demo's traffic rate. */
const DEMO_CANARY: CanaryPolicyInput = { steps: [10, 50, 100], interval: '20 seconds', minRequests: 40, maxWaitForRequests: '2 minutes' };
/**
 * Checks every 15 s over the last minute; two drifted windows in a row start retraining. The data
 * counts as drifted when 2 of its 11 features drift (the default asks for half of them).
 */
const DEMO_MONITORING = { windowMinutes: 1, everySeconds: 15, sustainedWindows: 2, thresholds: { datasetShare: 0.15 } };
/** A price rise and a wave of support calls. */
const DEMO_DRIFT: FeatureShift[] = [
  { column: 'monthly_charges', op: 'scale', by: 1.5 },
  { column: 'support_calls', op: 'add', by: 3 },
];
const TRAFFIC_PER_SECOND = 25;
/** How long the demo waits for the monitor to start retraining before it gives up. */
const DRIFT_TIMEOUT_MS = 6 * 60_000;

/**
 * `plumb demo`: the whole stack on the embedded default and the example pipeline end to end —
 * v1 trained and promoted, live traffic, v2 (fresh data) rolled out by canary, then drift injected into the
 * traffic until the monitor alerts and starts retraining. Uses a stack started by `plumb up` when
 * there is one; otherwise starts one and, on a terminal, keeps it up afterwards.
 */
export function registerDemoCommand(program: Command, loadConfig: () => Promise<StackConfig>): void {
  program
    .command('demo')
    .description('the example churn pipeline end to end: train, serve, canary, drift, retrain')
    .option('--rows <n>', 'rows of generated churn data', '50000')
    .option('--exit', 'stop the stack when the demo ends, even on a terminal')
    .action(async (opts: { rows: string; exit?: boolean }) => {
      const config = await loadConfig();
      const running = await readStackState(config);
      const stack = running?.ready ? undefined : await startInForeground(config);
      try {
        const { client, close } = await connectClient(config);
        let traffic: Traffic | undefined;
        try {
          const demo = new Demo(client, config, Number(opts.rows));
          traffic = await demo.run();
        } finally {
          if (traffic) note(`\ntraffic stopped: ${describeStats(await traffic.stop())}`);
          await close();
        }
        if (stack && process.stdin.isTTY && !opts.exit) {
          note('\nthe stack stays up for you to explore; Ctrl-C stops it');
          await untilSignalled();
        }
      } finally {
        await stack?.stop();
      }
    });
}

class Demo {
  private readonly url: string;
  private readonly store: LocalArtifactStore;
  private traffic: Traffic | undefined;

  constructor(
    private readonly client: Client,
    private readonly config: StackConfig,
    private readonly rows: number,
  ) {
    this.url = `http://${config.serving.host}:${config.serving.port}`;
    this.store = new LocalArtifactStore(config.artifacts.dir);
  }

  /** Runs the demo; returns the traffic generator still running, for the caller to stop. */
  async run(): Promise<Traffic | undefined> {
    // A demo run before this one left a production version: its rollout needs traffic from the start.
    if ((await this.production()) !== undefined) await this.startTraffic();

    banner('1. train a churn model and serve it (by canary when a production version exists)');
    const first = await this.runChurn({ seed: 1 });
    await this.showCanary(first.version);
    if (!first.production) return this.traffic;
    await this.showPrediction();
    await this.startTraffic();

    banner('2. train a new version on fresh data and roll it out by canary against live traffic');
    const second = await this.runChurn({ seed: 2 }); // the generator's next seed stands in for newer data
    await this.showCanary(second.version);
    if (!second.production) return this.traffic;

    banner('3. drift in the live traffic: the monitor alerts and starts retraining');
    await this.injectDrift(second.version);
    return this.traffic;
  }

  private async runChurn(params: Record<string, unknown>): Promise<ChurnResult> {
    const workflowId = `churn-demo-${Date.now()}`;
    await this.client.workflow.start('churn', {
      taskQueue: this.config.taskQueues.control,
      workflowId,
      args: [
        {
          params: { rows: this.rows, canary: true, canaryPolicy: DEMO_CANARY, monitoring: DEMO_MONITORING, ...params },
          autoApprove: !process.stdin.isTTY,
          servingTaskQueue: this.config.taskQueues.serving,
        },
      ],
    });
    note(`running the churn pipeline: ${workflowId}`);
    const url = runUrl(this.config, workflowId);
    if (url) note(`  watch it in the Temporal UI: ${url}`);
    const watching = this.watchRollouts();
    const result = await followRun(this.client, workflowId, note, url).finally(() => watching.stop());
    note('churn pipeline finished:');
    for (const s of result.steps) note(`  ${s.status === 'cached' ? '↺' : '✓'} ${s.step}${s.summary ? ` — ${s.summary}` : ''}`);
    const r = result.result as ChurnResult;
    const m = r.metrics;
    say(
      `churn v${r.version}: ROC AUC ${m.rocAuc.toFixed(4)}, PR AUC ${m.prAuc.toFixed(4)}, F1 ${m.f1.toFixed(4)}, log loss ${m.logLoss.toFixed(4)}` +
        ` (logistic baseline: ROC AUC ${r.baseline.rocAuc.toFixed(4)})`,
      r.production ? `churn v${r.version} is production and served at ${this.url}` : `churn v${r.version} was not promoted${r.rollout ? `: ${r.rollout}` : ''}`,
    );
    return r;
  }

  /** Prints each canary analysis as it lands, while a pipeline run is followed. */
  private watchRollouts(): { stop: () => void } {
    const seen = new Set<string>();
    let stopped = false;
    const loop = async () => {
      while (!stopped) {
        await sleep(2000);
        const rollouts = await listRollouts(this.client, 'churn').catch(() => []);
        for (const { state } of rollouts) {
          for (const a of state.analyses) {
            const key = `${state.candidate}/${a.step}/${a.to}`;
            if (seen.has(key) || stopped) continue;
            seen.add(key);
            note(`  canary v${state.candidate}: ${describeAnalysis(a)}`);
          }
        }
      }
    };
    void loop();
    return { stop: () => (stopped = true) };
  }

  private async showCanary(version: number): Promise<void> {
    const result = await this.client.workflow
      .getHandle(canaryWorkflowId('churn', version))
      .result()
      .then((r: CanaryResult) => r, () => undefined);
    if (!result) return; // promoted directly: there was no production version to compare with
    say(`canary of churn v${version} against v${result.stable}: ${result.outcome} — ${result.reason}`);
    for (const a of result.analyses) say(`  ${describeAnalysis(a)}`);
    if (this.traffic) say(`traffic so far: ${describeStats(this.traffic.stats())}`);
  }

  private async showPrediction(): Promise<void> {
    const answer = await predict(this.url, 'churn', [EXAMPLE_CUSTOMER], { apiKey: process.env.PLUMB_API_KEY });
    say(
      `a prediction from the serving pool: ${JSON.stringify(EXAMPLE_CUSTOMER)}`,
      `  → ${JSON.stringify(answer.predictions[0])} (version ${answer.version})`,
      `try it yourself: npx plumb predict churn --json '${JSON.stringify([EXAMPLE_CUSTOMER])}'`,
    );
  }

  private async startTraffic(): Promise<void> {
    if (this.traffic) return;
    const rows = await heldOutRows(this.client, this.store, 'churn', 20_000);
    this.traffic = startTraffic({ url: this.url, model: 'churn', rows, ratePerSecond: TRAFFIC_PER_SECOND, apiKey: process.env.PLUMB_API_KEY });
    say(`\nlive traffic: ${TRAFFIC_PER_SECOND} requests/s replaying ${rows.length} held-out customers (the same as: npx plumb traffic churn --rate ${TRAFFIC_PER_SECOND})`);
  }

  /**
   * Waits for a healthy window of v`version`, then drifts two features in the traffic and follows
   * the monitor's windows until it asks for retraining.
   */
  private async injectDrift(version: number): Promise<void> {
    const traffic = this.traffic;
    if (!traffic) throw new PlumbError('Conflict', 'the demo has no traffic running');
    note(`monitoring churn v${version}: a check every ${DEMO_MONITORING.everySeconds} s over the last minute (npx plumb monitor status churn)`);
    const printed = new Set<string>();
    /** Prints the monitor's new windows of this version until `done(state)`. */
    const follow = async (done: (state: MonitorState) => boolean): Promise<MonitorState> => {
      const deadline = Date.now() + DRIFT_TIMEOUT_MS;
      for (;;) {
        const state = await readMonitorState(this.store, 'churn');
        if (state?.version === String(version)) {
          for (const w of state.windows.filter((w) => !printed.has(w.to))) {
            printed.add(w.to);
            note(`  ${describeWindow(w)}`);
          }
          if (done(state)) return state;
        }
        if (Date.now() > deadline) throw new PlumbError('Unavailable', `the monitor did not get there within ${DRIFT_TIMEOUT_MS / 60_000} minutes; see npx plumb schedule list`);
        await sleep(2000);
      }
    };
    const healthySince = Date.now();
    await follow((s) => s.windows.some((w) => Date.parse(w.to) > healthySince && w.drifted === false));
    say('healthy traffic: no drift, no alert');

    const injectedAt = Date.now();
    traffic.shift(DEMO_DRIFT);
    say(`injecting drift into the traffic: ${DEMO_DRIFT.map(describeShift).join(', ')}`);
    const state = await follow((s) => s.lastRetraining !== undefined && Date.parse(s.lastRetraining.at) > injectedAt);
    const retraining = state.lastRetraining!;
    const alerts = Object.entries(state.alerts.active).map(([key, a]) => `  ${a.severity} ${key}`);
    const report = await latestReport(this.store, 'churn');
    const url = runUrl(this.config, retrainWorkflowId('churn'));
    say(
      'alerts (also in the control worker’s JSON log, the webhook when configured, and the Prometheus gauges):',
      ...alerts,
      ...(report ? [`the drift report: ${report.path}   (npx plumb monitor report churn --open)`] : []),
      `retraining ${retraining.started ? 'started' : 'was already running'}: ${retraining.workflowId} — ${retraining.reason}`,
      ...(url ? [`  watch it in the Temporal UI: ${url}`] : []),
      '  it trains on fresh data and stops at its approval gate; once approved it rolls out by canary like the version above',
      '  approve it with: npx plumb pending, then npx plumb approve churn <version> --by ml-lead',
    );
  }

  private async production(): Promise<number | undefined> {
    const listing = await queryRegistry<RegistryListing>(this.client, 'churn', 'list').catch(() => undefined);
    return listing?.aliases.production;
  }
}

function describeAnalysis(a: CanaryAnalysis): string {
  const where = a.phase === 'shadow' ? 'shadow' : `step ${a.step + 1} at ${a.weight} %`;
  return `${where}: ${a.verdict} — ${a.candidate.requests} candidate / ${a.stable.requests} stable requests; ${a.reason}`;
}

function banner(text: string): void {
  note(`\n── ${text} ──`);
}

/** Results go to stdout; progress (note) to stderr. */
function say(...lines: string[]): void {
  process.stdout.write(lines.join('\n') + '\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
