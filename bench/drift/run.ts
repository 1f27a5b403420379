/**
 * bench:drift — the drift report on 1M reference rows × 1M current rows × 30 features, computed by
 * plumb (DuckDB), by numpy/scipy with the same definitions, and by Evidently's DataDriftPreset;
 * times and results compared, appended to bench/results.md with the machine.
 *
 *   npm run bench:drift            # ROWS=200000 npm run bench:drift for a quicker run
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { computeDrift } from '../../activities/monitoring/drift.js';
import { renderDriftReport } from '../../activities/monitoring/drift-report.js';
import { DriftInput, type DriftResult } from '../../lib/drift-contracts.js';
import { BENCH_FEATURES, DRIFTED, writeBenchTable } from './bench-data.js';

const rows = Number(process.env.ROWS ?? 1_000_000);
const dir = join('.tools', 'bench-drift');
const python = join('.tools', 'venv', 'bin', 'python');
mkdirSync(dir, { recursive: true });
const ref = join(dir, `reference-${rows}.parquet`);
const cur = join(dir, `current-${rows}.parquet`);

function ensurePython(): void {
  if (existsSync(python)) return;
  console.error('creating .tools/venv with numpy, scipy, pandas, pyarrow, evidently …');
  for (const args of [['python3', ['-m', 'venv', join('.tools', 'venv')]], [python, ['-m', 'pip', 'install', '-q', 'numpy', 'scipy', 'pandas<3', 'pyarrow', 'evidently']]] as const) {
    const r = spawnSync(args[0], [...args[1]], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${args[0]} ${args[1].join(' ')} failed`);
  }
}

interface PyRun {
  loadSeconds: number;
  computeSeconds: number;
  version?: string;
  results: Record<string, Record<string, unknown>>;
}
function runPython(script: string): PyRun | { error: string } {
  const r = spawnSync(python, [join('bench', 'drift', script), ref, cur, JSON.stringify(BENCH_FEATURES)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? `exit ${r.status}` };
  return JSON.parse(r.stdout) as PyRun;
}

console.error(`generating ${rows.toLocaleString('en-US')} × ${BENCH_FEATURES.length} bench tables in ${dir} (once) …`);
await writeBenchTable(ref, rows, false);
await writeBenchTable(cur, rows, true);
ensurePython();

const input = DriftInput.parse({ reference: ref, current: cur, features: BENCH_FEATURES });
const plumbTimes: number[] = [];
let drift: DriftResult | undefined;
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  drift = await computeDrift(input, {});
  renderDriftReport({ title: 'bench', generatedAt: new Date().toISOString(), drift });
  plumbTimes.push((performance.now() - t) / 1000);
}
const plumbBest = Math.min(...plumbTimes);
console.error(`plumb: ${plumbTimes.map((t) => t.toFixed(2)).join(', ')} s`);

console.error('numpy/scipy …');
const scipy = runPython('scipy_drift.py');
console.error('evidently …');
const evidently = runPython('evidently_drift.py');

// Largest absolute difference to scipy, over every statistic of every feature (relative for values > 1).
let maxDiff = 0;
let worst = '';
if (!('error' in scipy)) {
  for (const f of drift!.features) {
    const s = scipy.results[f.name] as Record<string, Record<string, number> | number>;
    const pairs: [string, number | undefined, number | undefined][] = [
      ['psi', f.psi, s.psi as number],
      ['jensenShannon', f.jensenShannon, s.jensenShannon as number],
      ['ks.statistic', f.ks?.statistic, (s.ks as Record<string, number> | undefined)?.statistic],
      ['ks.pValue', f.ks?.pValue, (s.ks as Record<string, number> | undefined)?.pValue],
      ['wasserstein.distance', f.wasserstein?.distance, (s.wasserstein as Record<string, number> | undefined)?.distance],
      ['wasserstein.normalised', f.wasserstein?.normalised, (s.wasserstein as Record<string, number> | undefined)?.normalised],
      ['chiSquared.statistic', f.chiSquared?.statistic, (s.chiSquared as Record<string, number> | undefined)?.statistic],
      ['chiSquared.pValue', f.chiSquared?.pValue, (s.chiSquared as Record<string, number> | undefined)?.pValue],
    ];
    for (const [what, a, b] of pairs) {
      if (a === undefined && b === undefined) continue;
      const d = a === undefined || b === undefined ? Infinity : Math.abs(a - b) / Math.max(1, Math.abs(b));
      if (d > maxDiff || worst === '') [maxDiff, worst] = [d, `${f.name} ${what}`];
    }
  }
}

// Evidently's verdict scores: normalised Wasserstein (same definition) and JS distance in base e (ours × √ln 2).
let evDiff = 0;
const evVerdicts: string[] = [];
if (!('error' in evidently)) {
  for (const f of drift!.features) {
    const e = evidently.results[f.name] as { value: number } | undefined;
    if (!e) continue;
    const ours = f.type === 'numeric' ? f.wasserstein!.normalised : undefined;
    if (ours !== undefined) evDiff = Math.max(evDiff, Math.abs(ours - e.value));
    if (e.value >= 0.1) evVerdicts.push(f.name);
  }
}

const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
const machine = `${cpus().length} cores (nproc), ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}, ${new Date().toISOString().slice(0, 10)}, 1-minute load average at the end ${loadavg()[0]!.toFixed(1)}`;
const sec = (r: PyRun | { error: string }) => ('error' in r ? `failed: ${r.error}` : `${(r.loadSeconds + r.computeSeconds).toFixed(2)} s (load ${r.loadSeconds.toFixed(2)} + compute ${r.computeSeconds.toFixed(2)})`);
const speedup = (r: PyRun | { error: string }) => ('error' in r ? '—' : `${((r.loadSeconds + r.computeSeconds) / plumbBest).toFixed(1)}×`);
const lines = [
  '',
  `### ${rows.toLocaleString('en-US')} reference rows vs ${rows.toLocaleString('en-US')} current rows × ${BENCH_FEATURES.length} features (26 numeric, 4 categorical)`,
  '',
  `Machine: ${machine}.`,
  '',
  '| implementation | time (read Parquet + all statistics) | plumb is faster by |',
  '|---|---|---|',
  `| plumb (DuckDB; PSI, KS + p-value, Wasserstein, JS, χ²; verdicts; HTML report) | ${plumbBest.toFixed(2)} s (best of ${plumbTimes.map((t) => t.toFixed(2)).join(', ')}) | — |`,
  `| numpy/scipy, same statistics (${'error' in scipy ? '' : 'scipy_drift.py'}) | ${sec(scipy)} | ${speedup(scipy)} |`,
  `| Evidently ${'error' in evidently ? '' : (evidently.version ?? '')} DataDriftPreset (one statistic per column) | ${sec(evidently)} | ${speedup(evidently)} |`,
  '',
  `- Results vs scipy: largest difference over every statistic of every feature ${maxDiff.toExponential(2)} (${worst}; absolute, relative above 1) — ${maxDiff <= 1e-6 ? 'within' : 'NOT within'} 1e-6.`,
  `- Drifted features: plumb ${JSON.stringify(drift!.dataset.driftedFeatures)}, injected ${JSON.stringify(DRIFTED)}${'error' in evidently ? '' : `, Evidently ${JSON.stringify(evVerdicts)}; normalised Wasserstein vs Evidently: largest difference ${evDiff.toExponential(2)}`}.`,
];
const text = lines.join('\n') + '\n';
process.stdout.write(text);
const results = existsSync('bench/results.md') ? readFileSync('bench/results.md', 'utf8') : '';
appendFileSync('bench/results.md', (results.includes('\n## drift\n') ? '' : '\n## drift\n') + text);
