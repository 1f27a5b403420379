import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { judge, Gate, GatedMetric, scoreModelFile } from '../activities/evaluate.js';
import { BUILTIN_TRAINER_VERSION, BuiltinTrainerName, trainBuiltin } from '../activities/trainers/builtin-trainer.js';
import { hashFile } from '../lib/artifact-store.js';
import type { StackConfig } from '../lib/config.js';
import { readDatasetColumns } from '../lib/dataset-columns.js';
import { badInput } from '../lib/errors.js';
import type { ModelCard } from '../lib/model-card.js';
import { formatProgress } from '../lib/progress.js';
import { artifactUri } from '../lib/refs.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** `k=v` pairs; values that read as JSON (numbers, booleans) become those, anything else a string. */
export function parseKeyValues(pairs: string[], option: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw badInput(`${option} "${pair}": expected key=value`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    out[pair.slice(0, eq)] = value;
  }
  return out;
}

const progressToStderr = (p: Parameters<typeof formatProgress>[0]) => process.stderr.write(formatProgress(p) + '\n');

/** `plumb train` and `plumb evaluate`: the built-in trainers and the evaluator on plain files, outside any pipeline. */
export function registerTrainCommands(program: Command, _loadConfig: () => Promise<StackConfig>): void {
  program
    .command('train')
    .description('train a built-in model on a Parquet dataset and write model.onnx (and its model card beside it)')
    .argument('<dataset>', 'Parquet file')
    .requiredOption('--label <column>', 'the 0/1 or boolean label column')
    .requiredOption('--trainer <name>', 'gbdt or logreg')
    .option('--param <key=value>', 'trainer parameter, repeatable (e.g. --param trees=200)', collect, [])
    .option('--features <columns>', 'comma-separated feature columns (default: all but the label)')
    .requiredOption('--out <file>', 'where to write the ONNX model')
    .option('--json', 'print the result as JSON')
    .action(async (dataset: string, opts: { label: string; trainer: string; param: string[]; features?: string; out: string; json?: boolean }) => {
      const trainer = BuiltinTrainerName.safeParse(opts.trainer);
      if (!trainer.success) throw badInput(`--trainer "${opts.trainer}": expected gbdt or logreg`);
      if (!opts.out.endsWith('.onnx')) throw badInput(`--out "${opts.out}": expected a path ending in .onnx`);
      const features = opts.features?.split(',').map((s) => s.trim()).filter(Boolean);
      const columns = await readDatasetColumns(dataset, features ? [...features, opts.label] : undefined);
      const result = await trainBuiltin(
        columns,
        { trainer: trainer.data, label: opts.label, features, params: parseKeyValues(opts.param, '--param') },
        progressToStderr,
      );
      await writeFile(opts.out, result.onnx);
      const model = await hashFile(opts.out);
      const data = await hashFile(dataset);
      const createdAt = new Date().toISOString();
      const card: ModelCard = {
        kind: 'model-card',
        model: { sha256: model.sha256, bytes: model.bytes, format: 'onnx' },
        trainer: { name: trainer.data, version: BUILTIN_TRAINER_VERSION },
        label: opts.label,
        features: result.features,
        parameters: result.parameters,
        seed: result.seed,
        datasets: {
          train: { kind: 'dataset', uri: artifactUri(data.sha256), sha256: data.sha256, rows: columns.rows, columns: columns.schema, source: dataset, createdAt },
        },
        metrics: result.metrics,
        trainingSeconds: result.trainingSeconds,
        createdAt,
      };
      const cardPath = opts.out.replace(/\.onnx$/, '.card.json');
      await writeFile(cardPath, JSON.stringify(card, null, 2));
      const summary = { model: opts.out, card: cardPath, sha256: model.sha256, bytes: model.bytes, trainingSeconds: result.trainingSeconds, metrics: result.metrics };
      if (opts.json) console.log(JSON.stringify(summary));
      else {
        console.log(`wrote ${opts.out} (${model.bytes.toLocaleString('en-US')} bytes, sha256 ${model.sha256}) and ${cardPath}`);
        console.log(`trained ${trainer.data} in ${result.trainingSeconds.toFixed(2)}s: ${Object.entries(result.metrics).map(([k, v]) => `${k} ${Number(v.toFixed(6))}`).join(', ')}`);
      }
    });

  program
    .command('evaluate')
    .description('score an ONNX classifier on a Parquet test set with onnxruntime and print its metrics')
    .argument('<model>', 'model.onnx')
    .argument('<dataset>', 'Parquet file')
    .requiredOption('--label <column>', 'the 0/1 or boolean label column')
    .option('--threshold <p>', 'probability above which a row is predicted positive', '0.5')
    .option('--gate <metric=value>', `quality threshold, repeatable (${GatedMetric.options.join(', ')}); a failed gate exits 1`, collect, [])
    .option('--json', 'print the result as JSON')
    .action(async (modelPath: string, dataset: string, opts: { label: string; threshold: string; gate: string[]; json?: boolean }) => {
      const threshold = Number(opts.threshold);
      if (!(threshold >= 0 && threshold <= 1)) throw badInput(`--threshold "${opts.threshold}": expected a probability between 0 and 1`);
      const gate = Gate.safeParse(parseKeyValues(opts.gate, '--gate'));
      if (!gate.success) throw badInput(`--gate: ${gate.error.issues.map((i) => `${i.path.join('.') || i.message}: ${i.code === 'unrecognized_keys' ? `unknown metric (use ${GatedMetric.options.join(', ')})` : i.message}`).join('; ')}`);
      const columns = await readDatasetColumns(dataset);
      const metrics = await scoreModelFile(modelPath, columns, opts.label, threshold, {
        onBatch: (done) => progressToStderr({ stage: 'evaluate', done, total: columns.rows, unit: 'rows' }),
      });
      const reasons = judge(metrics, gate.data);
      const passed = reasons.every((r) => r.passed);
      if (!passed) process.exitCode = 1;
      if (opts.json) {
        console.log(JSON.stringify({ passed, reasons, metrics }));
        return;
      }
      const m = metrics;
      console.log(`${m.rows.toLocaleString('en-US')} rows, ${m.positives.toLocaleString('en-US')} positive, threshold ${m.threshold}`);
      console.log(`ROC AUC ${m.rocAuc.toFixed(4)}  PR AUC ${m.prAuc.toFixed(4)}  log loss ${m.logLoss.toFixed(4)}  Brier ${m.brier.toFixed(4)}`);
      console.log(`accuracy ${m.accuracy.toFixed(4)}  precision ${m.precision.toFixed(4)}  recall ${m.recall.toFixed(4)}  F1 ${m.f1.toFixed(4)}`);
      console.log(`confusion: tp ${m.confusion.tp}  fp ${m.confusion.fp}  tn ${m.confusion.tn}  fn ${m.confusion.fn}`);
      for (const r of reasons) console.log(`${r.passed ? 'pass' : 'FAIL'}: ${r.message}`);
    });
}
