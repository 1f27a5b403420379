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
  binCounts,
  chiSquaredContingency,
  datasetVerdict,
  featureVerdict,
  jensenShannonDistance,
  ksTwoSamplePValue,
  mergeEcdfs,
  normaliseWasserstein,
  populationStd,
  psi,
  quantileLinear,
} from '../../lib/metrics/drift.js';
import { ignoreProgress, type ProgressSink } from '../../lib/progress.js';
import type { DatasetRef } from '../../lib/refs.js';
import { columnTypes, fileView, ident, openSqlSession, requireColumn, type SqlSession } from './duckdb-session.js';

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
 * Compares the current window with the reference, feature by feature: DuckDB reads, filters and
 * sorts each numeric sample, then one merge of the two sorted samples gives KS and Wasserstein and
 * binary searches give PSI and Jensen–Shannon over bins at the reference's deciles; categories are
 * counted in DuckDB for chi-squared, Jensen–Shannon and PSI. Nulls and non-finite
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

/**
 * DuckDB filters and sorts each sample (the heavy part); one linear merge of the two sorted arrays
 * then gives KS and Wasserstein, and binary searches give the bin counts.
 */
async function numericDrift(session: SqlSession, c: Column, t: DriftThresholds): Promise<FeatureDrift> {
  const sortedFinite = (view: string, column: string) => {
    const v = `CAST(${ident(column)} AS DOUBLE)`;
    return session.doubles(`SELECT ${v} FROM ${ident(view)} WHERE isfinite(${v}) ORDER BY 1`);
  };
  const [totals] = await session.rows(
    `SELECT (SELECT count(*) FROM ${ident(c.referenceView)})::BIGINT AS r_total, (SELECT count(*) FROM cur)::BIGINT AS c_total`,
  );
  // allSettled: the session must not close under a query still streaming if the other one fails.
  const settled = await Promise.allSettled([sortedFinite(c.referenceView, c.referenceColumn), sortedFinite('cur', c.currentColumn)]);
  const [ref, cur] = settled.map((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  }) as [Float64Array, Float64Array];
  requireValues(c, ref.length, cur.length);

  const { h, distance } = mergeEcdfs(ref, cur);
  const d = h / ref.length / cur.length;
  const ks = ksTwoSamplePValue(ref.length, cur.length, d);
  const refStd = populationStd(ref);
  const normalised = normaliseWasserstein(distance, refStd);

  const edges = [...new Set(Array.from({ length: t.bins - 1 }, (_, k) => quantileLinear(ref, (k + 1) / t.bins)))].sort((a, b) => a - b);
  const refBins = binCounts(ref, edges);
  const curBins = binCounts(cur, edges);
  const lo = Math.min(ref[0]!, cur[0]!);
  const hi = Math.max(ref[ref.length - 1]!, cur[cur.length - 1]!);
  const bars = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => (i === HISTOGRAM_BINS ? hi : lo + ((hi - lo) * i) / HISTOGRAM_BINS));
  const splits = hi > lo ? bars.slice(1, -1) : [];
  const pad = (xs: number[]) => (xs.length === HISTOGRAM_BINS ? xs : [...xs, ...new Array<number>(HISTOGRAM_BINS - xs.length).fill(0)]);

  const scores = {
    psi: psi(refBins, curBins),
    jensenShannon: jensenShannonDistance(refBins, curBins),
    ksPValue: ks.pValue,
    wassersteinNormalised: normalised,
  };
  return {
    name: c.name,
    type: 'numeric',
    ...featureVerdict('numeric', ref.length, cur.length, scores, t),
    reference: { rows: ref.length, nulls: Number(totals?.r_total) - ref.length },
    current: { rows: cur.length, nulls: Number(totals?.c_total) - cur.length },
    psi: scores.psi,
    jensenShannon: scores.jensenShannon,
    ks: { statistic: d, pValue: ks.pValue, pValueMethod: ks.method },
    wasserstein: { distance, normalised, referenceStd: refStd },
    histogram: { kind: 'numeric', edges: bars, reference: pad(binCounts(ref, splits)), current: pad(binCounts(cur, splits)) },
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
