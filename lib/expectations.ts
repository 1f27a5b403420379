import { z } from 'zod';
import { ColumnType, Sha256 } from './refs.js';

/**
 * A declarative data-quality suite (validate step): each expectation is checked in DuckDB SQL, in
 * a few passes over the whole dataset. `mostly` is the share of non-null values that must satisfy
 * a per-value expectation (1 = all of them); for `not_null` it is the share of rows.
 *
 *   const suite: ExpectationSuite = { name: 'churn', expectations: [
 *     { type: 'not_null', column: 'customer_id' },
 *     { type: 'between', column: 'tenure_months', min: 0, max: 120, mostly: 0.99 },
 *   ] };
 */
const column = z.string().min(1);
const share = z.number().min(0).max(1);
const mostly = share.default(1);
const bounds = { min: z.number().optional(), max: z.number().optional() };
const SetValue = z.union([z.string(), z.number(), z.boolean()]);

export const Expectation = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('column_exists'), column }),
  z.strictObject({ type: z.literal('column_type'), column, columnType: ColumnType }),
  z.strictObject({ type: z.literal('not_null'), column, mostly }),
  z.strictObject({ type: z.literal('null_share_at_most'), column, max: share }),
  z.strictObject({ type: z.literal('between'), column, ...bounds, mostly }),
  z.strictObject({ type: z.literal('in_set'), column, values: z.array(SetValue).min(1), mostly }),
  z.strictObject({ type: z.literal('unique'), columns: z.array(column).min(1), mostly }),
  z.strictObject({ type: z.literal('match_regex'), column, pattern: z.string().min(1), mostly }),
  z.strictObject({ type: z.literal('row_count_between'), ...bounds }),
  z.strictObject({ type: z.literal('mean_between'), column, ...bounds }),
  z.strictObject({ type: z.literal('stddev_between'), column, ...bounds }),
  z.strictObject({ type: z.literal('quantile_between'), column, quantile: share, ...bounds }),
]);
export type Expectation = z.infer<typeof Expectation>;
export type ExpectationInput = z.input<typeof Expectation>;

export const ExpectationSuite = z.strictObject({
  name: z.string().min(1),
  expectations: z.array(Expectation).min(1),
});
export type ExpectationSuite = z.infer<typeof ExpectationSuite>;
export type ExpectationSuiteInput = z.input<typeof ExpectationSuite>;

const Observed = z.union([z.number(), z.string(), z.boolean(), z.null()]);

export const ExpectationResult = z.object({
  expectation: Expectation,
  success: z.boolean(),
  /** The measured value: a share, a mean, a count, a type name; null when it could not be measured. */
  observed: Observed,
  /** Values (or rows) that broke a per-value expectation; null for aggregate expectations. */
  unexpectedCount: z.number().int().nonnegative().nullable(),
  unexpectedShare: z.number().min(0).max(1).nullable(),
  /** Up to five distinct failing values (for `unique`, the duplicated keys joined by ", "). */
  sampleUnexpected: z.array(Observed),
  /** Why it could not be evaluated (missing column, wrong type), when that is the reason it failed. */
  error: z.string().optional(),
});
export type ExpectationResult = z.infer<typeof ExpectationResult>;

export const ValidationReport = z.object({
  suite: z.string(),
  dataset: Sha256,
  rows: z.number().int().nonnegative(),
  success: z.boolean(),
  evaluated: z.number().int().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  results: z.array(ExpectationResult),
});
export type ValidationReport = z.infer<typeof ValidationReport>;

/** One line per failed expectation, for error messages and the CLI. */
export function describeExpectation(e: Expectation): string {
  const range = 'min' in e || 'max' in e ? ` in [${'min' in e && e.min !== undefined ? e.min : '-inf'}, ${'max' in e && e.max !== undefined ? e.max : 'inf'}]` : '';
  switch (e.type) {
    case 'column_exists':
      return `column "${e.column}" exists`;
    case 'column_type':
      return `column "${e.column}" has type ${e.columnType}`;
    case 'not_null':
      return `"${e.column}" not null${e.mostly < 1 ? ` (mostly ${e.mostly})` : ''}`;
    case 'null_share_at_most':
      return `"${e.column}" null share <= ${e.max}`;
    case 'between':
      return `"${e.column}"${range}${e.mostly < 1 ? ` (mostly ${e.mostly})` : ''}`;
    case 'in_set':
      return `"${e.column}" in {${e.values.join(', ')}}${e.mostly < 1 ? ` (mostly ${e.mostly})` : ''}`;
    case 'unique':
      return `(${e.columns.join(', ')}) unique`;
    case 'match_regex':
      return `"${e.column}" matches /${e.pattern}/`;
    case 'row_count_between':
      return `row count${range}`;
    case 'mean_between':
      return `mean of "${e.column}"${range}`;
    case 'stddev_between':
      return `stddev of "${e.column}"${range}`;
    case 'quantile_between':
      return `quantile ${e.quantile} of "${e.column}"${range}`;
  }
}

export function summariseFailures(report: ValidationReport): string {
  const failed = report.results.filter((r) => !r.success);
  const lines = failed.map((r) => {
    const why = r.error ?? (r.unexpectedCount !== null ? `${r.unexpectedCount} unexpected (${(100 * (r.unexpectedShare ?? 0)).toFixed(2)}%)` : `observed ${r.observed}`);
    return `${describeExpectation(r.expectation)}: ${why}`;
  });
  return `suite "${report.suite}" failed ${report.failed} of ${report.evaluated} expectations: ${lines.join('; ')}`;
}
