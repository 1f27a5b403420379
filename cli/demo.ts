import type { Command } from 'commander';
import type { StackConfig } from '../lib/config.js';
import { connectClient } from './client.js';
import { note } from './output.js';
import { followRun, runUrl } from './run-commands.js';
import { readStackState } from './stack.js';
import { startInForeground, untilSignalled } from './stack-commands.js';

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
          process.stdout.write(JSON.stringify(result.result, null, 2) + '\n');
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
