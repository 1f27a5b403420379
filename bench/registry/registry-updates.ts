// `npm run bench:registry [-- <versions>]`: drives one model registry through many versions
// (register by update-with-start, approve, promote) against a dev server of its own, and reports
// update latencies, query latency, how often it continued-as-new and how big its carried state is.
// Appends the result to bench/results.md under "## registry".
import { appendFile, readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { createRegistryActivities } from '../../activities/registry-activities.js';
import { createLogger } from '../../lib/logger.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';
import { queryRegistry, registerWithStart, updateRegistry } from '../../lib/registry-client.js';
import { type RegisterInput, type RegistryListing, registryWorkflowId } from '../../lib/registry-contracts.js';
import { startStandaloneStack } from '../../test/standalone-stack.js';
import { createControlWorker } from '../../workers/control-worker.js';

const versions = Number(process.argv[2] ?? 300);
const FEATURES = 30;
const say = (line: string) => process.stderr.write(`[bench:registry] ${line}\n`);
const log = createLogger({ level: 'warn' });

const registration = (i: number): RegisterInput => {
  const sha = i.toString(16).padStart(64, '0');
  return {
    model: {
      kind: 'model',
      uri: `artifact://${sha}`,
      sha256: sha,
      bytes: 100_000,
      format: 'onnx',
      features: Array.from({ length: FEATURES }, (_, f) => ({ name: `feature_${f}`, type: f % 5 === 0 ? 'categorical' : 'numeric' })),
      label: 'churned',
      trainer: 'gbdt',
      createdAt: new Date().toISOString(),
    },
    lineage: { workflowId: `churn-${i}`, runId: `run-${i}`, pipeline: 'churn', datasets: [] },
    metrics: { rocAuc: 0.9, accuracy: 0.85, f1: 0.7, logLoss: 0.3 },
    by: 'pipeline',
  };
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const timed = async <T>(into: number[], fn: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const r = await fn();
  into.push(performance.now() - t0);
  return r;
};

const stack = await startStandaloneStack(say);
const { worker } = await createControlWorker({ config: stack.config, log, activities: createRegistryActivities({ log }) });
const running = worker.run();
try {
  const { client, config } = stack;
  const model = 'bench';
  const reg: number[] = [];
  const change: number[] = [];
  const started = performance.now();
  for (let i = 1; i <= versions; i++) {
    await timed(reg, () => registerWithStart(client, config.taskQueues.control, model, registration(i)));
    await timed(change, () => updateRegistry(client, model, 'approve', { version: i, by: 'ana' }));
    await timed(change, () => updateRegistry(client, model, 'promote', { version: i, by: 'ana' }));
    if (i % 50 === 0) say(`${i} versions`);
  }
  const seconds = (performance.now() - started) / 1000;
  const queries: number[] = [];
  for (let i = 0; i < 20; i++) await timed(queries, () => queryRegistry<RegistryListing>(client, model, 'list'));
  const runs: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${registryWorkflowId(model)}'` })) runs.push(w.runId);
  const current = await client.workflow.getHandle(registryWorkflowId(model)).fetchHistory();
  const carried = current.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data?.length ?? 0;
  const lastRunEvents = current.events?.length ?? 0;

  const cpu = (await readFile('/proc/cpuinfo', 'utf8')).match(/model name\s*:\s*(.*)/)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const machine = `${cpus().length} cores (nproc), ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, node ${process.version}, ${new Date().toISOString()}`;
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const section = [
    '',
    '## registry',
    '',
    `One registry workflow driven through ${versions} versions (${FEATURES}-feature model refs): each registered by update-with-start, approved and promoted (${versions * 3} Updates, sequential, one client), against a local dev server (SQLite) with one in-process worker. Machine: ${machine}; shared with other developers' builds and tests, so times are noisy.`,
    '',
    '| measure | value |',
    '|---|---|',
    `| updates per second (sequential) | ${((versions * 3) / seconds).toFixed(1)} |`,
    `| register (update-with-start) p50 / p95 | ${ms(pct(reg, 50))} / ${ms(pct(reg, 95))} |`,
    `| approve, promote p50 / p95 | ${ms(pct(change, 50))} / ${ms(pct(change, 95))} |`,
    `| \`list\` query with ${versions} versions p50 | ${ms(pct(queries, 50))} |`,
    `| runs (continue-as-new every ~2,000 events) | ${runs.length} |`,
    `| state carried into the last run | ${(carried / 1024).toFixed(0)} KiB (≈ ${(carried / Math.max(1, versions) / 1024).toFixed(2)} KiB per version) |`,
    `| events in the last run | ${lastRunEvents} |`,
    '',
  ].join('\n');
  await appendFile(join(PROJECT_ROOT, 'bench', 'results.md'), section);
  process.stdout.write(section + '\n');
} finally {
  worker.shutdown();
  await running;
  await stack.stop();
}
