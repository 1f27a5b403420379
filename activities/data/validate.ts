import type { DuckDBConnection } from '@duckdb/node-api';
import { formatIssues } from '../../lib/zod-issues.js';
import { ValidateInput, type ValidateResult } from '../../lib/data-steps.js';
import { columnTypeOfDuckDB, describeQuery, sqlIdent, sqlString, withDuckDB } from '../../lib/duckdb.js';
import { PlumbError, badInput } from '../../lib/errors.js';
import {
  type Expectation,
  type ExpectationResult,
  type ExpectationSuite,
  type ValidationReport,
  summariseFailures,
} from '../../lib/expectations.js';
import { type ProgressSink, ignoreProgress } from '../../lib/progress.js';
import type { ColumnType } from '../../lib/refs.js';
import { type DataDeps, datasetSource, storeJson } from './dataset-writer.js';

type Observed = ExpectationResult['observed'];

/**
 * Validate step: runs an expectation suite over a stored dataset and stores the report as a JSON
 * artifact. All per-value and aggregate expectations are computed in one SQL pass; uniqueness
 * takes one grouped pass per expectation, and failing expectations one small query each for
 * sample values. A failed suite throws a DataQuality error summarising the failures (with the
 * report's ref in its details) unless `failOnError` is false.
 *
 *   const { report } = await validateDataset({ dataset, suite: churnExpectations }, { store, log });
 */
export async function validateDataset(input: ValidateInput, deps: DataDeps, progress: ProgressSink = ignoreProgress): Promise<ValidateResult> {
  const parsed = ValidateInput.safeParse(input);
  if (!parsed.success) throw badInput(`validate: ${formatIssues(parsed.error)}`);
  const { dataset, suite, failOnError } = parsed.data;
  const source = await datasetSource(deps.store, dataset);
  const report = await withDuckDB((db) => evaluateSuite(db, source, suite, dataset.sha256, progress), {
    // One thread: parallel float sums (means, stddevs) differ in their last bits from run to run,
    // and the stored report must be byte-identical for identical data.
    threads: 1,
  });
  const ref = await storeJson(deps.store, report);
  const summary = report.success ? `suite "${suite.name}" passed all ${report.evaluated} expectations` : summariseFailures(report);
  deps.log.info('validated dataset', { dataset: dataset.sha256, suite: suite.name, success: report.success, failed: report.failed, report: ref.sha256 });
  if (!report.success && failOnError) throw new PlumbError('DataQuality', summary, { details: { report: ref } });
  return { report: ref, success: report.success, failed: report.failed, summary };
}

interface ColumnInfo {
  duckType: string;
  type: ColumnType | undefined;
}

/** A per-value check: which non-null values break it, and what share of which rows counts. */
interface ValueCheck {
  index: number;
  column?: string;
  violation: string;
  /** 'rows' for not_null (share of all rows), 'values' for the others (share of non-null values). */
  over: 'rows' | 'values';
  mostly: number;
}

export async function evaluateSuite(db: DuckDBConnection, source: string, suite: ExpectationSuite, sha256: string, progress: ProgressSink): Promise<ValidationReport> {
  const columns = new Map<string, ColumnInfo>(
    (await describeQuery(db, `SELECT * FROM ${source}`)).map((c) => [c.name, { duckType: c.duckType, type: columnTypeOfDuckDB(c.duckType) }]),
  );
  const aggregates: string[] = [];
  const alias = (i: number, what: string) => `e${i}_${what}`;
  const checks: ValueCheck[] = [];
  const results: (ExpectationResult | undefined)[] = suite.expectations.map(() => undefined);
  const failWith = (i: number, e: Expectation, error: string, observed: Observed = null) => {
    results[i] = { expectation: e, success: false, observed, unexpectedCount: null, unexpectedShare: null, sampleUnexpected: [], error };
  };
  const numericColumn = (i: number, e: Expectation, column: string): boolean => {
    const info = columns.get(column)!;
    if (info.type === 'integer' || info.type === 'double') return true;
    failWith(i, e, `column "${column}" is ${info.type ?? info.duckType}, not numeric`);
    return false;
  };

  suite.expectations.forEach((e, i) => {
    const needed = 'column' in e ? [e.column] : e.type === 'unique' ? e.columns : [];
    const missing = needed.filter((c) => !columns.has(c));
    if (e.type === 'column_exists') {
      const present = missing.length === 0;
      results[i] = { expectation: e, success: present, observed: present, unexpectedCount: null, unexpectedShare: null, sampleUnexpected: [] };
      return;
    }
    if (missing.length > 0) return failWith(i, e, `column "${missing[0]}" is not in the dataset`);
    const col = 'column' in e ? sqlIdent(e.column) : '';
    switch (e.type) {
      case 'column_type': {
        const observed = columns.get(e.column)!.type ?? columns.get(e.column)!.duckType;
        results[i] = { expectation: e, success: observed === e.columnType, observed, unexpectedCount: null, unexpectedShare: null, sampleUnexpected: [] };
        return;
      }
      case 'not_null':
        checks.push({ index: i, column: e.column, violation: `${col} IS NULL`, over: 'rows', mostly: e.mostly });
        return;
      case 'null_share_at_most':
        checks.push({ index: i, column: e.column, violation: `${col} IS NULL`, over: 'rows', mostly: 1 - e.max });
        return;
      case 'between': {
        if (!numericColumn(i, e, e.column)) return;
        const outside = [e.min === undefined ? undefined : `${col} < ${e.min}`, e.max === undefined ? undefined : `${col} > ${e.max}`].filter(Boolean);
        checks.push({ index: i, column: e.column, violation: outside.length ? outside.join(' OR ') : 'false', over: 'values', mostly: e.mostly });
        return;
      }
      case 'in_set':
        checks.push({ index: i, column: e.column, violation: notInSet(col, columns.get(e.column)!.type, e.values), over: 'values', mostly: e.mostly });
        return;
      case 'match_regex':
        checks.push({ index: i, column: e.column, violation: `NOT regexp_matches(CAST(${col} AS VARCHAR), ${sqlString(e.pattern)})`, over: 'values', mostly: e.mostly });
        return;
      case 'mean_between':
        if (numericColumn(i, e, e.column)) aggregates.push(`avg(${col}) AS ${alias(i, 'stat')}`);
        return;
      case 'stddev_between':
        if (numericColumn(i, e, e.column)) aggregates.push(`stddev_samp(${col}) AS ${alias(i, 'stat')}`);
        return;
      case 'quantile_between':
        if (numericColumn(i, e, e.column)) aggregates.push(`quantile_cont(${col}, ${e.quantile}) AS ${alias(i, 'stat')}`);
        return;
      case 'unique':
      case 'row_count_between':
        return; // evaluated below
    }
  });
  for (const c of checks) {
    aggregates.push(`count(*) FILTER (WHERE ${c.violation}) AS ${alias(c.index, 'bad')}`);
    aggregates.push(`count(${sqlIdent(c.column!)}) AS ${alias(c.index, 'nonnull')}`);
  }

  const main = await runQuery(db, `SELECT count(*) AS __rows${aggregates.map((a) => `, ${a}`).join('')} FROM ${source}`);
  const stats = main[0]!;
  const rows = Number(stats.__rows);
  let passes = 1;
  progress({ stage: 'validate', done: passes, unit: 'passes' });

  for (const c of checks) {
    const e = suite.expectations[c.index]!;
    const bad = Number(stats[alias(c.index, 'bad')]);
    const denominator = c.over === 'rows' ? rows : Number(stats[alias(c.index, 'nonnull')]);
    const share = denominator === 0 ? 0 : bad / denominator;
    const success = share <= 1 - c.mostly + 1e-12;
    const samples = !success && c.over === 'values' ? await sampleValues(db, source, c.column!, c.violation) : [];
    results[c.index] = { expectation: e, success, observed: share, unexpectedCount: bad, unexpectedShare: share, sampleUnexpected: samples };
  }

  for (const [i, e] of suite.expectations.entries()) {
    if (results[i]) continue;
    if (e.type === 'row_count_between') {
      results[i] = aggregateResult(e, rows, e.min, e.max);
    } else if (e.type === 'mean_between' || e.type === 'stddev_between' || e.type === 'quantile_between') {
      const v = stats[alias(i, 'stat')];
      results[i] = aggregateResult(e, v === null || v === undefined ? null : Number(v), e.min, e.max);
    } else if (e.type === 'unique') {
      const keys = e.columns.map(sqlIdent).join(', ');
      const dup = await runQuery(
        db,
        `SELECT coalesce(sum(n), 0) AS bad, list(key ORDER BY key)[1:5] AS samples FROM (
           SELECT count(*) AS n, concat_ws(', ', ${e.columns.map((c) => `CAST(${sqlIdent(c)} AS VARCHAR)`).join(', ')}) AS key
           FROM ${source} GROUP BY ${keys} HAVING count(*) > 1)`,
      );
      progress({ stage: 'validate', done: ++passes, unit: 'passes' });
      const bad = Number(dup[0]!.bad);
      const share = rows === 0 ? 0 : bad / rows;
      const samples = ((dup[0]!.samples ?? []) as unknown[]).map((s) => String(s));
      results[i] = { expectation: e, success: share <= 1 - e.mostly + 1e-12, observed: share, unexpectedCount: bad, unexpectedShare: share, sampleUnexpected: samples };
    }
  }

  const done = results.map((r) => r!);
  const failed = done.filter((r) => !r.success).length;
  return { suite: suite.name, dataset: sha256, rows, success: failed === 0, evaluated: done.length, succeeded: done.length - failed, failed, results: done };
}

function aggregateResult(e: Expectation, observed: number | null, min: number | undefined, max: number | undefined): ExpectationResult {
  const success = observed !== null && Number.isFinite(observed) && (min === undefined || observed >= min) && (max === undefined || observed <= max);
  return { expectation: e, success, observed: observed !== null && Number.isFinite(observed) ? observed : null, unexpectedCount: null, unexpectedShare: null, sampleUnexpected: [] };
}

function notInSet(col: string, type: ColumnType | undefined, values: (string | number | boolean)[]): string {
  if ((type === 'integer' || type === 'double') && values.every((v) => typeof v === 'number')) return `${col} NOT IN (${values.join(', ')})`;
  if (type === 'boolean' && values.every((v) => typeof v === 'boolean')) return `${col} NOT IN (${values.join(', ')})`;
  return `CAST(${col} AS VARCHAR) NOT IN (${values.map((v) => sqlString(String(v))).join(', ')})`;
}

async function sampleValues(db: DuckDBConnection, source: string, column: string, violation: string): Promise<Observed[]> {
  const rows = await runQuery(db, `SELECT DISTINCT ${sqlIdent(column)} AS v FROM ${source} WHERE ${violation} ORDER BY 1 LIMIT 5`);
  return rows.map(({ v }) => toObserved(v));
}

function toObserved(v: unknown): Observed {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

async function runQuery(db: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  try {
    return (await db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } catch (err) {
    // A pattern DuckDB's regex engine refuses, or a value that cannot be compared, is the suite's fault.
    if (/regex|Invalid Input|Conversion|Binder/i.test((err as Error).message)) {
      throw badInput(`validate: the suite could not be evaluated: ${(err as Error).message}`);
    }
    throw err;
  }
}
