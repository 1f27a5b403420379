import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { generateChurnFile } from '../activities/data/churn-generator.js';
import { type DataDeps, storedDatasetRef } from '../activities/data/dataset-writer.js';
import { ingestDataset } from '../activities/data/ingest.js';
import { profileDataset } from '../activities/data/profile.js';
import { validateDataset } from '../activities/data/validate.js';
import { LocalArtifactStore } from '../lib/artifact-store.js';
import type { StackConfig } from '../lib/config.js';
import { formatIssues } from '../lib/zod-issues.js';
import { ChurnDefects, DataFormat, DeclaredSchema } from '../lib/data-steps.js';
import type { DatasetProfile } from '../lib/dataset-profile.js';
import { PlumbError, badInput } from '../lib/errors.js';
import { ExpectationSuite, type ValidationReport, describeExpectation } from '../lib/expectations.js';
import { createLogger } from '../lib/logger.js';
import { type ProgressSink, formatProgress } from '../lib/progress.js';
import { type DatasetRef, Sha256 } from '../lib/refs.js';

const printProgress: ProgressSink = (p) => process.stderr.write(formatProgress(p) + '\n');

/**
 * `plumb data …`: each data step on its own, for exploring data outside a pipeline.
 *
 *   plumb data generate churn --rows 100000 --seed 7 --out churn.csv.gz
 *   plumb data ingest churn.csv.gz --json
 *   plumb data validate churn.csv.gz --suite churn.expectations.json
 */
export function registerDataCommands(program: Command, loadConfig: () => Promise<StackConfig>): void {
  const deps = async (): Promise<DataDeps> => {
    const config = await loadConfig();
    return { store: new LocalArtifactStore(config.artifacts.dir), log: createLogger({ level: config.logLevel }).child({ component: 'cli-data' }) };
  };
  const data = program.command('data').description('generate, ingest, validate and profile datasets');

  data
    .command('generate')
    .description('write example data to a file (.parquet, .csv, .tsv, .jsonl; text ones optionally .gz)')
    .argument('<kind>', 'dataset kind: churn')
    .requiredOption('--rows <n>', 'number of rows', (v) => parseNumber('--rows', v, true))
    .option('--seed <s>', 'random seed', (v) => parseNumber('--seed', v, true), 1)
    .option('--drift <x>', 'distribution shift from 0 (none) to 1 (strong)', (v) => parseNumber('--drift', v, false), 0)
    .option('--defects <list>', 'defect shares, e.g. nulls=0.01,out-of-range=0.005,wrong-types=0.001', parseDefects)
    .requiredOption('--out <file>', 'output file')
    .action(async (kind: string, opts: { rows: number; seed: number; drift: number; defects?: ChurnDefects; out: string }) => {
      if (kind !== 'churn') throw badInput(`unknown dataset kind "${kind}": the generator knows "churn"`);
      const out = resolve(opts.out);
      await generateChurnFile({ rows: opts.rows, seed: opts.seed, drift: opts.drift, defects: opts.defects ?? {} }, out);
      process.stderr.write(`wrote ${opts.rows.toLocaleString('en-US')} churn rows to ${out}\n`);
    });

  data
    .command('ingest')
    .description('store a file as a canonical Parquet dataset and print its DatasetRef')
    .argument('<file>', 'CSV/TSV (optionally .gz), Parquet, JSON lines or Arrow IPC file')
    .option('--format <f>', `one of ${DataFormat.options.join(', ')} (default: from the file name)`)
    .option('--schema <file>', 'JSON file with [{ "name", "type", "nullable"? }] to enforce')
    .option('--max-bad-rows <share>', 'share of malformed rows to drop instead of failing', (v) => parseNumber('--max-bad-rows', v, false), 0)
    .option('--json', 'print the DatasetRef as JSON')
    .action(async (file: string, opts: { format?: string; schema?: string; maxBadRows: number; json?: boolean }) => {
      const format = opts.format === undefined ? undefined : DataFormat.safeParse(opts.format);
      if (format && !format.success) throw badInput(`--format ${opts.format}: expected one of ${DataFormat.options.join(', ')}`);
      const schema = opts.schema ? await readSchema(opts.schema) : undefined;
      const result = await ingestDataset(
        { source: { path: file, ...(format ? { format: format.data } : {}) }, ...(schema ? { schema } : {}), maxBadRowShare: opts.maxBadRows },
        await deps(),
        printProgress,
      );
      if (result.rejected.count > 0) {
        process.stderr.write(`dropped ${result.rejected.count} malformed rows: ${result.rejected.samples.map((r) => `line ${r.line}: ${r.error}`).join('; ')}\n`);
      }
      if (opts.json) process.stdout.write(JSON.stringify(result.dataset) + '\n');
      else process.stdout.write(describeDataset(result.dataset, result.created) + '\n');
    });

  data
    .command('validate')
    .description('check a dataset against an expectation suite; exits 1 when it fails')
    .argument('<dataset>', 'a data file (ingested first) or the sha256 of a stored dataset')
    .requiredOption('--suite <file>', 'expectation suite: a JSON file, or a .ts/.js module exporting one')
    .option('--json', 'print the validation report as JSON')
    .action(async (target: string, opts: { suite: string; json?: boolean }) => {
      const d = await deps();
      const suite = await readSuite(opts.suite);
      const dataset = await resolveDataset(target, d);
      const result = await validateDataset({ dataset, suite, failOnError: false }, d, printProgress);
      const report = JSON.parse((await d.store.get(result.report.sha256)).toString('utf8')) as ValidationReport;
      process.stdout.write((opts.json ? JSON.stringify(report) : describeReport(report, result.report.sha256)) + '\n');
      if (!result.success) throw new PlumbError('DataQuality', result.summary, { details: { report: result.report } });
    });

  data
    .command('profile')
    .description('per-column statistics of a dataset')
    .argument('<dataset>', 'a data file (ingested first) or the sha256 of a stored dataset')
    .option('--json', 'print the profile as JSON')
    .action(async (target: string, opts: { json?: boolean }) => {
      const d = await deps();
      const dataset = await resolveDataset(target, d);
      const { profile, result } = await profileDataset({ dataset }, d, printProgress);
      process.stdout.write((opts.json ? JSON.stringify(result) : describeProfile(result, profile.sha256)) + '\n');
    });
}

function parseNumber(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw badInput(`${flag} ${value}: expected ${integer ? 'an integer' : 'a number'}`);
  }
  return n;
}

const DEFECT_KEYS: Record<string, keyof ChurnDefects> = { nulls: 'nulls', 'out-of-range': 'outOfRange', 'wrong-types': 'wrongTypes' };

function parseDefects(spec: string): ChurnDefects {
  const raw: Record<string, number> = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const [key, value] = part.split('=');
    const field = DEFECT_KEYS[key?.trim() ?? ''];
    if (!field || value === undefined) throw badInput(`--defects ${spec}: expected name=share pairs with names ${Object.keys(DEFECT_KEYS).join(', ')}`);
    raw[field] = parseNumber(`--defects ${key}`, value, false);
  }
  const parsed = ChurnDefects.safeParse(raw);
  if (!parsed.success) throw badInput(`--defects ${spec}: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

async function readJsonFile(flag: string, file: string): Promise<unknown> {
  const text = await readFile(resolve(file), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw badInput(`${flag} ${file}: file not found`);
    throw err;
  });
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badInput(`${flag} ${file}: not valid JSON (${(err as Error).message})`);
  }
}

async function readSchema(file: string): Promise<DeclaredSchema> {
  const parsed = DeclaredSchema.safeParse(await readJsonFile('--schema', file));
  if (!parsed.success) throw badInput(`--schema ${file}: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

async function readSuite(file: string): Promise<ExpectationSuite> {
  let candidates: unknown[];
  if (['.ts', '.js', '.mjs'].includes(extname(file))) {
    const module = (await import(pathToFileURL(resolve(file)).href).catch((err: Error) => {
      throw badInput(`--suite ${file}: could not be loaded: ${err.message}`);
    })) as Record<string, unknown>;
    candidates = Object.values(module);
  } else {
    candidates = [await readJsonFile('--suite', file)];
  }
  for (const candidate of candidates) {
    const parsed = ExpectationSuite.safeParse(candidate);
    if (parsed.success) return parsed.data;
  }
  const first = ExpectationSuite.safeParse(candidates[0]);
  throw badInput(`--suite ${file}: ${first.success ? 'no expectation suite found' : formatIssues(first.error)}`);
}

/** A sha256 names a stored dataset; anything else is a file to ingest first. */
async function resolveDataset(target: string, deps: DataDeps): Promise<DatasetRef> {
  if (Sha256.safeParse(target).success) return storedDatasetRef(deps, target);
  return (await ingestDataset({ source: { path: target } }, deps, printProgress)).dataset;
}

function describeDataset(d: DatasetRef, created: boolean): string {
  const columns = d.columns.map((c) => `  ${c.name}: ${c.type}${c.nullable ? ' (has nulls)' : ''}`).join('\n');
  return `dataset ${d.sha256}${created ? '' : ' (already stored)'}\n${d.rows.toLocaleString('en-US')} rows from ${d.source}\n${columns}`;
}

function describeReport(r: ValidationReport, sha256: string): string {
  const lines = r.results.map((x) => {
    const detail = x.error ?? (x.unexpectedCount !== null ? `${x.unexpectedCount} unexpected (${(100 * (x.unexpectedShare ?? 0)).toFixed(2)}%)${x.sampleUnexpected.length ? `, e.g. ${x.sampleUnexpected.join(', ')}` : ''}` : `observed ${x.observed}`);
    return `  ${x.success ? 'ok  ' : 'FAIL'} ${describeExpectation(x.expectation)}: ${detail}`;
  });
  return `suite "${r.suite}" on ${r.rows.toLocaleString('en-US')} rows: ${r.succeeded} passed, ${r.failed} failed (report ${sha256})\n${lines.join('\n')}`;
}

function describeProfile(p: DatasetProfile, sha256: string): string {
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(3));
  const lines = p.columns.map((c) => {
    const head = `  ${c.name} (${c.type}): ${c.nulls} nulls, ~${c.approxDistinct} distinct`;
    if (c.numeric) return `${head}; min ${fmt(c.numeric.min)}, mean ${fmt(c.numeric.mean)}, max ${fmt(c.numeric.max)}, sd ${fmt(c.numeric.stddev)}`;
    if (c.categorical) return `${head}; top ${c.categorical.top.slice(0, 5).map((t) => `${t.value} (${t.count})`).join(', ')}`;
    return `${head}; from ${c.range?.min ?? '-'} to ${c.range?.max ?? '-'}`;
  });
  return `${p.rows.toLocaleString('en-US')} rows (profile ${sha256})\n${lines.join('\n')}`;
}
