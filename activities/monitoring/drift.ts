import type { ArtifactStore } from '../../lib/artifact-store.js';
import {
  DriftResult,
  type DriftInput,
  type DriftThresholds,
  type FeatureDrift,
  type ParquetSource,
} from '../../lib/drift-contracts.js';
import { PlumbError, badInput } from '../../lib/errors.js';
import {
  chiSquaredContingency,
  datasetVerdict,
  featureVerdict,
  jensenShannonDistance,
  ksTwoSamplePValue,
  normaliseWasserstein,
  psi,
} from '../../lib/metrics/drift.js';
import { ignoreProgress, type ProgressSink } from '../../lib/progress.js';
import type { DatasetRef } from '../../lib/refs.js';
import { columnTypes, doubleLiteral, ident, openSqlSession, fileView, requireColumn, type SqlSession } from './duckdb-session.js';

/** Bars per feature in the report's histograms. */
const HISTOGRAM_BINS = 20;
const HISTOGRAM_CATEGORIES = 20;

interface Column {
  name: string;
  type: 'numeric' | 'categorical';
  /** Column name in the reference view and in the current view. */
  referenceColumn: string;
  currentColumn: string;
  referenceView: string;
}

/**
 * Compares the current window with the reference, feature by feature, in DuckDB: KS and
 * Wasserstein over the merged sorted values of both samples, PSI and Jensen–Shannon over bins at
 * the reference's deciles, chi-squared and Jensen–Shannon for categories. Nulls and non-finite
 * values are left out of every statistic and counted as `nulls`.
 *
 *   const result = await computeDrift(DriftInput.parse({ reference: 'train.parquet', current: 'log/*.parquet', features }), { store });
 */
export async function computeDrift(
  input: DriftInput,
  deps: { store?: ArtifactStore },
  progress: ProgressSink = ignoreProgress,
): Promise<DriftResult> {
  const session = await openSqlSession();
  try {
    await fileView(session, 'ref', await resolveSource(input.reference, deps.store, 'reference'), 'reference');
    await fileView(session, 'cur', input.current, 'current');
    const refTypes = await columnTypes(session, 'ref');
    const curTypes = await columnTypes(session, 'cur');
    const columns: Column[] = input.features.map((f, i) => {
      requireColumn(refTypes, f.name, f.type === 'numeric', `features[${i}] (${f.name})`, 'reference');
      requireColumn(curTypes, f.name, f.type === 'numeric', `features[${i}] (${f.name})`, 'current');
      return { ...f, referenceColumn: f.name, currentColumn: f.name, referenceView: 'ref' };
    });
    const predictionColumns: Column[] = [];
    if (input.predictions) {
      let view = 'ref';
      let types = refTypes;
      if (input.predictions.reference !== undefined) {
        view = 'pred_ref';
        await fileView(session, view, await resolveSource(input.predictions.reference, deps.store, 'predictions.reference'), 'predictions.reference');
        types = await columnTypes(session, view);
      }
      input.predictions.columns.forEach((c, i) => {
        const referenceColumn = c.referenceName ?? c.name;
        requireColumn(types, referenceColumn, c.type === 'numeric', `predictions.columns[${i}] (${c.name})`, 'prediction reference');
        requireColumn(curTypes, c.name, c.type === 'numeric', `predictions.columns[${i}] (${c.name})`, 'current');
        predictionColumns.push({ name: c.name, type: c.type, referenceColumn, currentColumn: c.name, referenceView: view });
      });
    }
    const [counts] = await session.rows(`SELECT (SELECT count(*) FROM ref)::BIGINT AS r, (SELECT count(*) FROM cur)::BIGINT AS c`);
    const rows = { reference: Number(counts?.r ?? 0), current: Number(counts?.c ?? 0) };
    if (rows.reference === 0) throw badInput('reference: the reference data has no rows');
    if (rows.current === 0) throw badInput('current: the current window has no rows');

    const all = [...columns, ...predictionColumns];
    const results: FeatureDrift[] = [];
    for (const [i, column] of all.entries()) {
      results.push(
        column.type === 'numeric'
          ? await numericDrift(session, column, input.thresholds)
          : await categoricalDrift(session, column, input.thresholds),
      );
      progress({ stage: 'drift', done: i + 1, total: all.length, unit: 'columns', message: column.name });
    }
    const features = results.slice(0, columns.length);
    return DriftResult.parse({
      features,
      predictions: results.slice(columns.length),
      dataset: datasetVerdict(features, input.thresholds),
      rows,
      thresholds: input.thresholds,
    });
  } finally {
    session.close();
  }
}

async function resolveSource(source: ParquetSource | DatasetRef, store: ArtifactStore | undefined, field: string): Promise<ParquetSource> {
  if (typeof source === 'string' || Array.isArray(source)) return source;
  if (!store) throw badInput(`${field}: a stored dataset needs an artifact store to resolve ${source.uri}`);
  return store.localPath(source.sha256);
}

/** The finite values of one column, as DOUBLE, tagged with their side (0 reference, 1 current). */
function numericSides(c: Column): string {
  const r = `CAST(${ident(c.referenceColumn)} AS DOUBLE)`;
  const k = `CAST(${ident(c.currentColumn)} AS DOUBLE)`;
  return `SELECT 0 AS s, ${r} AS v FROM ${ident(c.referenceView)} WHERE isfinite(${r})
          UNION ALL SELECT 1 AS s, ${k} AS v FROM cur WHERE isfinite(${k})`;
}

async function numericDrift(session: SqlSession, c: Column, t: DriftThresholds): Promise<FeatureDrift> {
  const quantiles = Array.from({ length: t.bins - 1 }, (_, k) => (k + 1) / t.bins);
  const [totals] = await session.rows(`
    SELECT (SELECT count(*) FROM ${ident(c.referenceView)})::BIGINT AS r_total, (SELECT count(*) FROM cur)::BIGINT AS c_total`);
  const [stats] = await session.rows(`
    SELECT count(*) FILTER (WHERE s = 0)::BIGINT AS n_ref,
           count(*) FILTER (WHERE s = 1)::BIGINT AS n_cur,
           stddev_pop(v) FILTER (WHERE s = 0) AS sd,
           min(v) AS lo, max(v) AS hi,
           quantile_cont(v, [${quantiles.join(', ')}]) FILTER (WHERE s = 0) AS q
    FROM (${numericSides(c)})`);
  const nRef = Number(stats?.n_ref ?? 0);
  const nCur = Number(stats?.n_cur ?? 0);
  requireValues(c, nRef, nCur);
  const refStd = Number(stats?.sd ?? 0);
  const lo = Number(stats?.lo);
  const hi = Number(stats?.hi);

  // KS and Wasserstein from the cumulative counts at each distinct value of the merged samples.
  // h = max |ca·nCur − cb·nRef| is exact in integers; D = h / (nRef·nCur).
  const [ecdf] = await session.rows(`
    WITH u AS (
      SELECT v, count(*) FILTER (WHERE s = 0) AS a, count(*) FILTER (WHERE s = 1) AS b
      FROM (${numericSides(c)}) GROUP BY v),
    cum AS (
      SELECT sum(a) OVER w AS ca, sum(b) OVER w AS cb, lead(v) OVER (ORDER BY v) - v AS dx
      FROM u WINDOW w AS (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
    SELECT max(abs(ca * ${nCur} - cb * ${nRef}))::DOUBLE AS h,
           sum(abs(ca::DOUBLE / ${nRef} - cb::DOUBLE / ${nCur}) * dx) AS w
    FROM cum`);
  const d = Number(ecdf?.h ?? 0) / nRef / nCur;
  const distance = Number(ecdf?.w ?? 0);
  const ks = ksTwoSamplePValue(nRef, nCur, d);

  const edges = [...new Set((stats?.q as number[] | null) ?? [])].sort((a, b) => a - b);
  const binOf = edges.length === 0 ? '0' : edges.map((e) => `(v >= ${doubleLiteral(e)})::INTEGER`).join(' + ');
  const width = (hi - lo) / HISTOGRAM_BINS;
  const barOf = width > 0 ? `least(CAST(floor((v - ${doubleLiteral(lo)}) / ${doubleLiteral(width)}) AS INTEGER), ${HISTOGRAM_BINS - 1})` : '0';
  const binned = await session.rows(`
    SELECT s, ${binOf} AS bin, ${barOf} AS bar, count(*)::BIGINT AS n FROM (${numericSides(c)}) GROUP BY ALL`);
  const bins = [new Array<number>(edges.length + 1).fill(0), new Array<number>(edges.length + 1).fill(0)];
  const bars = [new Array<number>(HISTOGRAM_BINS).fill(0), new Array<number>(HISTOGRAM_BINS).fill(0)];
  for (const row of binned) {
    const side = Number(row.s);
    const n = Number(row.n);
    bins[side]![Number(row.bin)]! += n;
    bars[side]![Number(row.bar)]! += n;
  }
  const [refBins, curBins] = bins as [number[], number[]];
  const normalised = normaliseWasserstein(distance, refStd);
  const scores = {
    psi: psi(refBins, curBins),
    jensenShannon: jensenShannonDistance(refBins, curBins),
    ksPValue: ks.pValue,
    wassersteinNormalised: normalised,
  };
  return {
    name: c.name,
    type: 'numeric',
    ...featureVerdict('numeric', nRef, nCur, scores, t),
    reference: { rows: nRef, nulls: Number(totals?.r_total) - nRef },
    current: { rows: nCur, nulls: Number(totals?.c_total) - nCur },
    psi: scores.psi,
    jensenShannon: scores.jensenShannon,
    ks: { statistic: d, pValue: ks.pValue, pValueMethod: ks.method },
    wasserstein: { distance, normalised, referenceStd: refStd },
    histogram: {
      kind: 'numeric',
      edges: Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => (i === HISTOGRAM_BINS ? hi : lo + i * width)),
      reference: bars[0]!,
      current: bars[1]!,
    },
  };
}

async function categoricalDrift(session: SqlSession, c: Column, t: DriftThresholds): Promise<FeatureDrift> {
  const rows = await session.rows(`
    SELECT s, v, count(*)::BIGINT AS n FROM (
      SELECT 0 AS s, CAST(${ident(c.referenceColumn)} AS VARCHAR) AS v FROM ${ident(c.referenceView)}
      UNION ALL SELECT 1 AS s, CAST(${ident(c.currentColumn)} AS VARCHAR) AS v FROM cur)
    GROUP BY ALL`);
  const counts = new Map<string, [number, number]>();
  const nulls = [0, 0];
  for (const row of rows) {
    const side = Number(row.s);
    const n = Number(row.n);
    if (row.v === null) {
      nulls[side]! += n;
      continue;
    }
    const entry = counts.get(String(row.v)) ?? [0, 0];
    entry[side === 0 ? 0 : 1] += n;
    counts.set(String(row.v), entry);
  }
  // Most frequent first, ties by name, so results and the report are deterministic.
  const categories = [...counts.entries()].sort((a, b) => b[1][0] + b[1][1] - (a[1][0] + a[1][1]) || (a[0] < b[0] ? -1 : 1));
  const refCounts = categories.map(([, n]) => n[0]);
  const curCounts = categories.map(([, n]) => n[1]);
  const nRef = refCounts.reduce((s, v) => s + v, 0);
  const nCur = curCounts.reduce((s, v) => s + v, 0);
  requireValues(c, nRef, nCur);
  const chi = chiSquaredContingency(refCounts, curCounts);
  const scores = { psi: psi(refCounts, curCounts), jensenShannon: jensenShannonDistance(refCounts, curCounts), chiSquaredPValue: chi.pValue };
  const shown = categories.slice(0, HISTOGRAM_CATEGORIES);
  const sum = (xs: number[]) => xs.reduce((s, v) => s + v, 0);
  return {
    name: c.name,
    type: 'categorical',
    ...featureVerdict('categorical', nRef, nCur, scores, t),
    reference: { rows: nRef, nulls: nulls[0]! },
    current: { rows: nCur, nulls: nulls[1]! },
    psi: scores.psi,
    jensenShannon: scores.jensenShannon,
    chiSquared: chi,
    histogram: {
      kind: 'categorical',
      categories: shown.map(([name]) => name),
      reference: shown.map(([, n]) => n[0]),
      current: shown.map(([, n]) => n[1]),
      otherReference: nRef - sum(shown.map(([, n]) => n[0])),
      otherCurrent: nCur - sum(shown.map(([, n]) => n[1])),
    },
  };
}

function requireValues(c: Column, nRef: number, nCur: number): void {
  if (nRef === 0) throw new PlumbError('DataQuality', `feature "${c.name}": no non-null values in the reference data`);
  if (nCur === 0) throw new PlumbError('DataQuality', `feature "${c.name}": no non-null values in the current window`);
}
