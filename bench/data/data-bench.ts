// Rows/s of plumb's ingest + validate + features against the same SQL run directly in DuckDB in
// this process. Usage: npm run bench:data [-- 1000000 10000000]. Appends to bench/results.md.
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { generateChurnFile } from '../../activities/data/churn-generator.js';
import { PARQUET_OPTIONS } from '../../activities/data/dataset-writer.js';
import { buildFeatures } from '../../activities/data/features.js';
import { ingestDataset } from '../../activities/data/ingest.js';
import { evaluateSuite, validateDataset } from '../../activities/data/validate.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { DUCKDB_TYPE_OF, describeQuery, logicalTypes, sqlIdent, sqlString, withDuckDB } from '../../lib/duckdb.js';
import { ExpectationSuite } from '../../lib/expectations.js';
import { createLogger } from '../../lib/logger.js';
import { ignoreProgress } from '../../lib/progress.js';
import { churnExpectations, churnFeatureOptions, churnFeaturesSql } from '../../pipelines/churn/data.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const rowsToRun = sizes.length ? sizes : [1_000_000, 10_000_000];
const ROUNDS = 2;
const suite = ExpectationSuite.parse(churnExpectations);

async function plumbSteps(csv: string, storeDir: string): Promise<number> {
  const deps = { store: new LocalArtifactStore(storeDir), log: createLogger({ level: 'warn' }) };
  const start = performance.now();
  const { dataset } = await ingestDataset({ source: { path: csv } }, deps);
  await validateDataset({ dataset, suite }, deps);
  await buildFeatures({ dataset, sql: churnFeaturesSql, label: churnFeatureOptions.label, exclude: [...churnFeatureOptions.exclude] }, deps);
  return (performance.now() - start) / 1000;
}

/** The same statements on one raw connection: CSV → Parquet, the suite's queries, the feature query → Parquet. */
async function rawDuckDB(csv: string, dir: string): Promise<number> {
  const start = performance.now();
  await withDuckDB(async (db) => {
    const source = `read_csv(${sqlString(csv)}, header = true, delim = ',')`;
    const columns = logicalTypes(await describeQuery(db, `SELECT * FROM ${source}`), csv);
    const raw = join(dir, 'raw.parquet');
    await db.run(`COPY (SELECT ${columns.map((c) => `CAST(${sqlIdent(c.name)} AS ${DUCKDB_TYPE_OF[c.type]}) AS ${sqlIdent(c.name)}`).join(', ')} FROM ${source}) TO ${sqlString(raw)} (${PARQUET_OPTIONS})`);
    const report = await evaluateSuite(db, `read_parquet(${sqlString(raw)})`, suite, '0'.repeat(64), ignoreProgress);
    if (!report.success) throw new Error('the churn suite should pass on generated data');
    await db.run(`CREATE VIEW input AS SELECT * FROM read_parquet(${sqlString(raw)})`);
    await db.run(`COPY (${churnFeaturesSql}) TO ${sqlString(join(dir, 'raw-features.parquet'))} (${PARQUET_OPTIONS})`);
  });
  return (performance.now() - start) / 1000;
}

async function machine(): Promise<string> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return `${cpus().length} cores (nproc), ${model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}, ${new Date().toISOString()}`;
}

const lines: string[] = [];
for (const rows of rowsToRun) {
  const dir = await mkdtemp(join(tmpdir(), 'plumb-bench-data-'));
  try {
    const csv = join(dir, 'churn.csv');
    await generateChurnFile({ rows, seed: 1 }, csv);
    const mb = (await stat(csv)).size / 2 ** 20;
    let plumb = Infinity;
    let raw = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      raw = Math.min(raw, await rawDuckDB(csv, dir));
      // A fresh store each round, so every round ingests, hashes and stores for real.
      plumb = Math.min(plumb, await plumbSteps(csv, join(dir, `store-${round}`)));
    }
    const line = `| ${rows.toLocaleString('en-US')} | ${mb.toFixed(0)} MB | ${Math.round(rows / plumb).toLocaleString('en-US')} | ${Math.round(rows / raw).toLocaleString('en-US')} | ${(raw / plumb).toFixed(2)}× | ${plumb.toFixed(2)} s / ${raw.toFixed(2)} s |`;
    console.log(line);
    lines.push(line);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const header = `\n## data\n\nIngest (CSV → canonical Parquet in the store) + validate (the churn suite, 17 expectations) + features (churn SQL), generated churn CSV, best of ${ROUNDS} rounds; raw = the same SQL on one DuckDB connection in the same process, no artifact store. Machine: ${await machine()}.\n\n| rows | CSV size | plumb rows/s | raw DuckDB rows/s | plumb / raw | time plumb / raw |\n|---|---|---|---|---|---|\n`;
await appendFile(join(import.meta.dirname, '..', 'results.md'), header + lines.join('\n') + '\n');
