// bench:train — plumb's GBDT and logistic regression against scikit-learn, XGBoost and LightGBM on
// (a) generated churn data and (b) scikit-learn's bundled breast-cancer data (5-fold CV).
// AUC is measured by running plumb's exported ONNX model in onnxruntime; times are fit times.
//   npm run bench:train [-- --rows 1000000 --test-rows 200000 --threads 2]
import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { scoreModelFile } from '../../activities/evaluate.js';
import { trainBuiltin, type BuiltinTrainerName } from '../../activities/trainers/builtin-trainer.js';
import { readDatasetColumns } from '../../lib/dataset-columns.js';
import { writeChurnParquet } from '../../test/fixtures/churn-parquet.js';
import { writeFile } from 'node:fs/promises';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'test-rows': { type: 'string', default: '200000' },
    threads: { type: 'string', default: '2' },
    folds: { type: 'string', default: '5' },
  },
});
const rows = Number(args.rows);
const testRows = Number(args['test-rows']);
const folds = Number(args.folds);
const root = join(import.meta.dirname, '..', '..');
const work = join(root, '.tools', 'bench-train');
const python = join(root, '.tools', 'bench-venv', 'bin', 'python');
const peersScript = join(import.meta.dirname, 'peers.py');

interface Row {
  trainer: string;
  seconds: number;
  auc: number;
}

const gbdtParams = { trees: 100, learningRate: 0.1, maxDepth: 6, maxLeaves: 31, minSamplesLeaf: 20, validationFraction: 0 };

async function plumbRun(trainPath: string, testPath: string, label: string, trainer: BuiltinTrainerName): Promise<Row> {
  const train = await readDatasetColumns(trainPath);
  const result = await trainBuiltin(train, { trainer, label, params: trainer === 'gbdt' ? gbdtParams : {} }, () => {});
  const modelPath = join(work, `plumb-${trainer}.onnx`);
  await writeFile(modelPath, result.onnx);
  const metrics = await scoreModelFile(modelPath, await readDatasetColumns(testPath), label, 0.5);
  return { trainer: `plumb-${trainer}`, seconds: result.trainingSeconds, auc: metrics.rocAuc };
}

function peers(...argv: string[]): Row[] {
  // OPENBLAS_CORETYPE slows current numpy builds; unset for the peers only (see the env notes)
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return JSON.parse(execFileSync(python, [peersScript, ...argv], { env, encoding: 'utf8', maxBuffer: 1 << 24 })) as Row[];
}

function table(title: string, results: Row[]): string {
  const bestGbdtPeer = Math.max(...results.filter((r) => !r.trainer.startsWith('plumb') && r.trainer !== 'sklearn-logreg').map((r) => r.auc));
  const bestPeer = Math.max(...results.filter((r) => !r.trainer.startsWith('plumb')).map((r) => r.auc));
  const xgb = results.find((r) => r.trainer === 'xgboost-hist')!.seconds;
  const lines = [`### ${title}`, '', '| trainer | ROC AUC | fit seconds | × XGBoost time |', '|---|---|---|---|'];
  for (const r of results) lines.push(`| ${r.trainer} | ${r.auc.toFixed(4)} | ${r.seconds.toFixed(2)} | ${(r.seconds / xgb).toFixed(2)} |`);
  const gbdt = results.find((r) => r.trainer === 'plumb-gbdt')!;
  const lr = results.find((r) => r.trainer === 'plumb-logreg')!;
  const sklr = results.find((r) => r.trainer === 'sklearn-logreg')!;
  lines.push(
    '',
    `plumb GBDT: AUC ${gbdt.auc - bestPeer >= -0.005 ? 'within' : 'NOT within'} 0.005 of the best peer (${(gbdt.auc - bestPeer).toFixed(4)} vs ${bestPeer.toFixed(4)}; best GBDT peer ${bestGbdtPeer.toFixed(4)}); ` +
      `time ${(gbdt.seconds / xgb).toFixed(2)}× XGBoost hist (target ≤ 3×). plumb LR vs scikit-learn LR: AUC ${(lr.auc - sklr.auc).toFixed(4)}.`,
    '',
  );
  return lines.join('\n');
}

async function main() {
  const loadAtStart = loadavg()[0]!;
  await mkdir(work, { recursive: true });
  execFileSync(join(import.meta.dirname, 'setup.sh'), { stdio: 'inherit' });
  const trainPath = join(work, `churn-${rows}.parquet`);
  const testPath = join(work, `churn-test-${testRows}.parquet`);
  await writeChurnParquet(trainPath, rows, 1);
  await writeChurnParquet(testPath, testRows, 2);
  const threads = args.threads!;

  console.error(`churn ${rows} rows: plumb`);
  const churn: Row[] = [await plumbRun(trainPath, testPath, 'churned', 'gbdt'), await plumbRun(trainPath, testPath, 'churned', 'logreg')];
  console.error('churn: peers');
  churn.push(...peers('churn', trainPath, testPath, 'churned', threads));

  console.error('breast cancer: folds');
  const bcDir = join(work, 'breast-cancer');
  await mkdir(bcDir, { recursive: true });
  peers('export-breast-cancer', bcDir, String(folds));
  const breast: Row[] = [];
  for (const trainer of ['gbdt', 'logreg'] as const) {
    const perFold: Row[] = [];
    for (let k = 0; k < folds; k++) perFold.push(await plumbRun(join(bcDir, `fold-${k}-train.parquet`), join(bcDir, `fold-${k}-test.parquet`), 'malignant', trainer));
    breast.push({ trainer: `plumb-${trainer}`, seconds: perFold.reduce((s, r) => s + r.seconds, 0), auc: perFold.reduce((s, r) => s + r.auc, 0) / folds });
  }
  breast.push(...peers('folds', bcDir, String(folds), 'malignant', threads));

  const cpu = (await readFile('/proc/cpuinfo', 'utf8')).match(/model name\s*:\s*(.*)/)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const versions = execFileSync(python, ['-c', 'import sklearn,xgboost,lightgbm;print(f"scikit-learn {sklearn.__version__}, xgboost {xgboost.__version__}, lightgbm {lightgbm.__version__}")'], { encoding: 'utf8' }).trim();
  const section = [
    '## train',
    '',
    `${new Date().toISOString()} — ${cpus().length} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}, ${versions}; 1-minute load average ${loadAtStart.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end; peers with ${threads} threads, plumb GBDT with 2 histogram threads, plumb LR single-threaded. The machine was shared with other developers' jobs, so times are noisy.`,
    `GBDT settings for all: 100 trees, learning rate 0.1, depth ≤ 6 (≤ 31 leaves where the library has leaf-wise growth), ≤ 255/256 bins, no early stopping. LR: L2 with C = 1, standardised numerics, one-hot categoricals.`,
    '',
    table(`churn (generated, ${rows.toLocaleString('en-US')} train rows × 30 features, ${testRows.toLocaleString('en-US')} test rows)`, churn),
    table(`breast cancer (scikit-learn bundled, 569 rows × 30 features, ${folds}-fold CV: mean AUC, total fit time)`, breast),
  ].join('\n');
  await appendFile(join(root, 'bench', 'results.md'), section + '\n');
  console.log(section);
}

await main();
