import type { Command } from 'commander';
import type { StackConfig } from '../lib/config.js';
import { connectClient } from './client.js';
import { note } from './output.js';
import { followRun, runUrl } from './run-commands.js';
import { predict } from './serving.js';
import { readStackState } from './stack.js';
import { startInForeground, untilSignalled } from './stack-commands.js';

interface DemoResult {
  version: number;
  production: boolean;
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

/**
 * `plumb demo`: the whole stack on the embedded default and the example pipeline end to end.
 * Uses a stack started by `plumb up` when there is one; otherwise starts one for the demo and,
 * on a terminal, keeps it up afterwards so the run can be explored in the Temporal UI.
 */
export function registerDemoCommand(program: Command, loadConfig: () => Promise<StackConfig>): void {
  program
    .command('demo')
    .description('run the example churn pipeline end to end on a local stack')
    .option('--rows <n>', 'rows of generated churn data', '50000')
    .option('--exit', 'stop the stack when the run ends, even on a terminal')
    .action(async (opts: { rows: string; exit?: boolean }) => {
      const config = await loadConfig();
      const running = await readStackState(config);
      const stack = running?.ready ? undefined : await startInForeground(config);
      try {
        const { client, close } = await connectClient(config);
        try {
          const workflowId = `churn-demo-${Date.now()}`;
          await client.workflow.start('churn', {
            taskQueue: config.taskQueues.control,
            workflowId,
            args: [{ params: { rows: Number(opts.rows) }, autoApprove: !process.stdin.isTTY, servingTaskQueue: config.taskQueues.serving }],
          });
          note(`\nrunning the churn pipeline: ${workflowId}`);
          const url = runUrl(config, workflowId);
          if (url) note(`  watch it in the Temporal UI: ${url}`);
          const result = await followRun(client, workflowId, note, url);
          note('\nchurn pipeline finished:');
          for (const s of result.steps) note(`  ${s.status === 'cached' ? '↺' : '✓'} ${s.step}${s.summary ? ` — ${s.summary}` : ''}`);
          const r = result.result as DemoResult;
          const m = r.metrics;
          process.stdout.write(
            [
              `churn v${r.version}: ROC AUC ${m.rocAuc.toFixed(4)}, PR AUC ${m.prAuc.toFixed(4)}, F1 ${m.f1.toFixed(4)}, log loss ${m.logLoss.toFixed(4)}` +
                ` (logistic baseline: ROC AUC ${r.baseline.rocAuc.toFixed(4)})`,
              r.production ? `churn v${r.version} is production and served at ${config.serving.host}:${config.serving.port}` : `churn v${r.version} was not promoted`,
            ].join('\n') + '\n',
          );
          if (r.production) {
            const answer = await predict(`http://${config.serving.host}:${config.serving.port}`, 'churn', [EXAMPLE_CUSTOMER], {
              apiKey: process.env.PLUMB_API_KEY,
            });
            process.stdout.write(
              `a prediction from the serving pool: ${JSON.stringify(EXAMPLE_CUSTOMER)}\n  → ${JSON.stringify(answer.predictions[0])} (version ${answer.version})\n` +
                `try it yourself: npx plumb predict churn --json '${JSON.stringify([EXAMPLE_CUSTOMER])}'\n`,
            );
          }
        } finally {
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
