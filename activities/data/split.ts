import { formatIssues } from '../../lib/zod-issues.js';
import { SplitInput, type SplitResult } from '../../lib/data-steps.js';
import { sqlIdent, sqlString, withDuckDB } from '../../lib/duckdb.js';
import { badInput } from '../../lib/errors.js';
import { type ProgressSink, ignoreProgress } from '../../lib/progress.js';
import type { DatasetRef } from '../../lib/refs.js';
import { type DataDeps, writeDataset } from './dataset-writer.js';

/**
 * Split step: assigns every row to train, test or validation from the md5 of its id (and the
 * salt), a function that gives the same answer on every machine and DuckDB version, so a row
 * lands in the same part on every run. Exactly: fraction = (upper 64 bits of md5(id as text ||
 * salt), read little-endian) >> 11, divided by 2^53; test below `test`, validation below
 * `test + validation`, train above. Without stratification a row's part depends on its id
 * alone; with `stratify`, rows of each class are ordered by that hash and cut at the fractions,
 * so every part keeps the class proportions exactly. Row order is kept within each part.
 *
 *   const { train, test } = await splitDataset({ dataset, by: 'customer_id', test: 0.2, stratify: 'churned' }, { store, log });
 */
export async function splitDataset(input: SplitInput, deps: DataDeps, progress: ProgressSink = ignoreProgress): Promise<SplitResult> {
  const parsed = SplitInput.safeParse(input);
  if (!parsed.success) throw badInput(`split: ${formatIssues(parsed.error)}`);
  const { dataset, by, test, validation, stratify, salt } = parsed.data;
  for (const column of [by, stratify]) {
    if (column !== undefined && !dataset.columns.some((c) => c.name === column)) {
      throw badInput(`split: column "${column}" is not in the dataset (it has: ${dataset.columns.map((c) => c.name).join(', ')})`);
    }
  }
  const path = await deps.store.localPath(dataset.sha256);
  return withDuckDB(
    async (db) => {
      const id = sqlIdent(by);
      const nullIds = await db.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlString(path)}) WHERE ${id} IS NULL`);
      const missing = Number(nullIds.getRowsJS()[0]?.[0] ?? 0);
      if (missing > 0) throw badInput(`split: the id column "${by}" is null on ${missing} rows`);
      // 53 bits of md5 as a fraction in [0, 1).
      const u = `(md5_number_lower(CAST(${id} AS VARCHAR) || ${sqlString(salt)}) >> 11)::DOUBLE / 9007199254740992.0`;
      const position = stratify
        ? `(row_number() OVER (PARTITION BY ${sqlIdent(stratify)} ORDER BY __u, CAST(${id} AS VARCHAR)) - 0.5) / count(*) OVER (PARTITION BY ${sqlIdent(stratify)})`
        : '__u';
      await db.run(`CREATE TEMP TABLE assigned AS
        SELECT * EXCLUDE (__u, __pos, file_row_number),
          CASE WHEN __pos < ${test} THEN 'test' WHEN __pos < ${test + validation} THEN 'validation' ELSE 'train' END AS __part
        FROM (SELECT *, ${position} AS __pos FROM (SELECT *, ${u} AS __u FROM read_parquet(${sqlString(path)}, file_row_number = true)))
        ORDER BY file_row_number`);
      const parts = validation > 0 ? (['train', 'test', 'validation'] as const) : (['train', 'test'] as const);
      const out: Partial<Record<(typeof parts)[number], DatasetRef>> = {};
      for (const [k, part] of parts.entries()) {
        const written = await writeDataset(
          db,
          `SELECT * EXCLUDE (__part) FROM assigned WHERE __part = '${part}'`,
          deps,
          `${part} part of ${dataset.sha256.slice(0, 12)} by ${by}${stratify ? `, stratified by ${stratify}` : ''}`,
        );
        if (written.dataset.rows === 0) throw badInput(`split: the ${part} part is empty; the dataset has ${dataset.rows} rows`);
        out[part] = written.dataset;
        progress({ stage: 'split', done: k + 1, total: parts.length, unit: 'parts' });
      }
      deps.log.info('split dataset', { dataset: dataset.sha256, train: out.train!.rows, test: out.test!.rows, validation: out.validation?.rows });
      return { train: out.train!, test: out.test!, ...(out.validation ? { validation: out.validation } : {}) };
    },
    { threads: deps.threads },
  );
}
