import type { DuckDBConnection } from '@duckdb/node-api';
import { type DuckDBOptions, sqlString, withDuckDB } from '../../lib/duckdb.js';
import { badInput } from '../../lib/errors.js';
import { ChurnOptions, type ChurnOptionsInput } from '../../lib/data-steps.js';

/**
 * Synthetic customer-churn data for the example pipeline, tests and benchmarks, generated inside
 * DuckDB so that 10M rows never pass through JavaScript. Every random draw is a hash of (row, draw, seed),
 * so a seed gives the same rows on every run and thread count (DuckDB's hash is stable within a
 * DuckDB version). The label follows a known non-linear rule plus noise: month-to-month contracts,
 * a short tenure, many support calls and high charges paid by electronic check raise the churn
 * probability; moderate usage lowers it.
 */
export async function churnSelectSql(db: DuckDBConnection, input: ChurnOptionsInput): Promise<string> {
  const o = ChurnOptions.parse(input);
  const d = o.drift;
  await db.run(
    // One single-argument hash per draw: DuckDB's multi-argument hash(i, seed, k) gives correlated draws.
    `CREATE OR REPLACE TEMP MACRO u(i, k) AS ((hash(xor((i * 64 + k)::UBIGINT, hash(${o.seed}::BIGINT))) >> 11)::DOUBLE / 9007199254740992.0)`,
  );
  const { nulls, outOfRange, wrongTypes } = o.defects;
  const nullable = (expr: string, k: number) => (nulls > 0 ? `CASE WHEN u(i, ${k}) < ${nulls} THEN NULL ELSE ${expr} END` : expr);
  let tenure = outOfRange > 0 ? `CASE WHEN u(i, 30) < ${outOfRange} THEN -1 - tenure ELSE tenure END` : 'tenure';
  if (wrongTypes > 0) tenure = `CASE WHEN u(i, 31) < ${wrongTypes} THEN 'unknown' ELSE CAST(${tenure} AS VARCHAR) END`;
  const monthly = outOfRange > 0 ? `CASE WHEN u(i, 32) < ${outOfRange} THEN round(monthly * 100, 2) ELSE monthly END` : 'monthly';
  return `
WITH a AS (
  SELECT i,
    CASE WHEN u(i, 1) < ${0.55 + 0.25 * d} THEN 'month-to-month' WHEN u(i, 1) < ${0.8 + 0.1 * d} THEN 'one-year' ELSE 'two-year' END AS contract,
    CASE WHEN u(i, 3) < 0.45 THEN 'fiber' WHEN u(i, 3) < 0.8 THEN 'dsl' ELSE 'none' END AS internet_service,
    CASE WHEN u(i, 6) < 0.34 THEN 'electronic_check' WHEN u(i, 6) < 0.56 THEN 'mailed_check'
         WHEN u(i, 6) < 0.78 THEN 'bank_transfer' ELSE 'credit_card' END AS payment_method,
    CASE WHEN u(i, 10) < ${0.22 - 0.1 * d} THEN 'north' WHEN u(i, 10) < ${0.44} THEN 'south'
         WHEN u(i, 10) < 0.64 THEN 'east' WHEN u(i, 10) < 0.84 THEN 'west' ELSE 'central' END AS region,
    u(i, 11) < 0.16 AS senior_citizen,
    sqrt(-2 * ln(greatest(u(i, 8), 1e-12))) * cos(2 * pi() * u(i, 9)) AS z_usage
  FROM range(${o.rows}) t(i)
), b AS (
  SELECT *,
    CAST(floor(72 * ${1 - 0.4 * d} * pow(u(i, 2), CASE contract WHEN 'month-to-month' THEN 1.6 WHEN 'one-year' THEN 0.8 ELSE 0.5 END)) AS INTEGER) AS tenure,
    round(18 + CASE internet_service WHEN 'fiber' THEN 55 WHEN 'dsl' THEN 30 ELSE 0 END + 25 * u(i, 4) + ${15 * d}, 2) AS monthly,
    CAST(least(15, floor(-ln(greatest(u(i, 7), 1e-12)) * CASE contract WHEN 'month-to-month' THEN 2.0 ELSE 1.2 END)) AS INTEGER) AS support_calls,
    round(exp(3.0 + 0.7 * z_usage), 2) AS usage_gb
  FROM a
), c AS (
  SELECT *,
    round(monthly * greatest(tenure, 1) * (0.97 + 0.06 * u(i, 5)), 2) AS total_charges,
    -2.2 + 1.5 * (contract = 'month-to-month')::INTEGER + 0.4 * (contract = 'one-year')::INTEGER
      + 1.1 * (tenure < 6)::INTEGER - 0.03 * tenure + 0.32 * support_calls
      + 1.0 * (payment_method = 'electronic_check' AND monthly > 70)::INTEGER + 0.02 * (monthly - 65)
      - 0.5 * (usage_gb BETWEEN 10 AND 60)::INTEGER + 0.3 * senior_citizen::INTEGER AS logit
  FROM b
)
SELECT
  'C' || lpad(CAST(i AS VARCHAR), 9, '0') AS customer_id,
  DATE '2026-01-01' - CAST(tenure * 30 + floor(u(i, 12) * 30) AS INTEGER) AS signup_date,
  ${nullable('region', 20)} AS region,
  contract, payment_method, internet_service, senior_citizen,
  ${tenure} AS tenure_months,
  ${nullable(monthly, 21)} AS monthly_charges,
  total_charges, support_calls,
  ${nullable('usage_gb', 22)} AS usage_gb,
  u(i, 13) < 1 / (1 + exp(-logit)) AS churned
FROM c`;
}

const OUTPUTS: [RegExp, string][] = [
  [/\.parquet$/i, 'FORMAT parquet, COMPRESSION zstd'],
  [/\.csv$/i, 'FORMAT csv, HEADER true'],
  [/\.csv\.gz$/i, 'FORMAT csv, HEADER true, COMPRESSION gzip'],
  [/\.tsv$/i, `FORMAT csv, HEADER true, DELIMITER '\t'`],
  [/\.tsv\.gz$/i, `FORMAT csv, HEADER true, DELIMITER '\t', COMPRESSION gzip`],
  [/\.(jsonl|ndjson)$/i, 'FORMAT json'],
  [/\.(jsonl|ndjson)\.gz$/i, 'FORMAT json, COMPRESSION gzip'],
];

/**
 * Writes generated churn data to a file whose extension picks the format: .parquet, .csv, .tsv,
 * .jsonl/.ndjson, the text ones optionally .gz.
 *
 *   await generateChurnFile({ rows: 100_000, seed: 7, drift: 0.5 }, 'data/churn-drifted.parquet');
 */
export async function generateChurnFile(options: ChurnOptionsInput, out: string, duck: DuckDBOptions = {}): Promise<{ rows: number }> {
  const format = OUTPUTS.find(([pattern]) => pattern.test(out))?.[1];
  if (!format) throw badInput(`--out ${out}: unsupported output format; use .parquet, .csv, .tsv, .jsonl (text ones optionally .gz)`);
  const parsed = ChurnOptions.parse(options);
  await withDuckDB(async (db) => {
    const select = await churnSelectSql(db, parsed);
    await db.run(`COPY (${select}) TO ${sqlString(out)} (${format})`);
  }, duck);
  return { rows: parsed.rows };
}
