import type { DuckDBConnection } from '@duckdb/node-api';
import { formatIssues } from '../../lib/zod-issues.js';
import { ProfileInput } from '../../lib/data-steps.js';
import {
  type ColumnProfile,
  DatasetProfile,
  PROFILE_BINS,
  PROFILE_QUANTILES,
  PROFILE_TOP_VALUES,
} from '../../lib/dataset-profile.js';
import { sqlIdent, sqlString, withDuckDB } from '../../lib/duckdb.js';
import { badInput } from '../../lib/errors.js';
import { type ProgressSink, ignoreProgress } from '../../lib/progress.js';
import { type ArtifactRef, type ColumnSchema, Sha256 } from '../../lib/refs.js';
import { type DataDeps, datasetSource, storeJson } from './dataset-writer.js';

/**
 * Profile step: per-column statistics of a stored dataset, stored as a JSON artifact. Two passes
 * over the data: one for counts, moments, quantiles and value counts, one for the rows in each
 * quantile bin (the drift reference).
 *
 *   const { profile } = await profileDataset({ dataset }, { store, log });
 */
export async function profileDataset(
  input: ProfileInput,
  deps: DataDeps,
  progress: ProgressSink = ignoreProgress,
): Promise<{ profile: ArtifactRef; result: DatasetProfile }> {
  const parsed = ProfileInput.safeParse(input);
  if (!parsed.success) throw badInput(`profile: ${formatIssues(parsed.error)}`);
  const { dataset } = parsed.data;
  const source = await datasetSource(deps.store, dataset);
  const result = await withDuckDB((db) => computeProfile(db, source, dataset.columns, dataset.sha256, progress), {
    // One thread: parallel float sums (means, stddevs) differ in their last bits from run to run,
    // and the stored report must be byte-identical for identical data.
    threads: 1,
  });
  const profile = await storeJson(deps.store, result);
  await deps.store.putNamed(profileKey(dataset.sha256), profile.sha256);
  deps.log.info('profiled dataset', { dataset: dataset.sha256, profile: profile.sha256 });
  return { profile, result };
}

/** The named entry that points from a dataset to its latest profile ("stored beside the dataset"). */
const profileKey = (datasetSha256: string) => `datasets/${datasetSha256}/profile`;

/**
 * The profile stored for a dataset by `profileDataset`, or undefined when it was never profiled;
 * drift detection reads its training data's profile this way.
 *
 *   const reference = await readDatasetProfile(store, model.trainingData.sha256);
 */
export async function readDatasetProfile(store: DataDeps['store'], datasetSha256: string): Promise<DatasetProfile | undefined> {
  const pointer = await store.getNamed(profileKey(Sha256.parse(datasetSha256)));
  if (!pointer) return undefined;
  return DatasetProfile.parse(JSON.parse((await store.get(pointer.toString('utf8'))).toString('utf8')));
}

const isNumeric = (c: ColumnSchema) => c.type === 'integer' || c.type === 'double';
const isCategorical = (c: ColumnSchema) => c.type === 'string' || c.type === 'boolean';
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function computeProfile(db: DuckDBConnection, source: string, schema: ColumnSchema[], sha256: string, progress: ProgressSink): Promise<DatasetProfile> {
  const edgesAt = Array.from({ length: PROFILE_BINS + 1 }, (_, i) => i / PROFILE_BINS);
  const aggs = schema.flatMap((c, i) => {
    const col = sqlIdent(c.name);
    const base = [`count(${col}) AS c${i}_count`, `approx_count_distinct(${col}) AS c${i}_distinct`];
    if (isNumeric(c)) {
      const x = `CAST(${col} AS DOUBLE)`;
      base.push(
        `min(${x}) AS c${i}_min`, `max(${x}) AS c${i}_max`, `avg(${x}) AS c${i}_mean`, `stddev_samp(${x}) AS c${i}_sd`,
        `quantile_cont(${x}, [${PROFILE_QUANTILES.join(', ')}]) AS c${i}_q`, `quantile_disc(${x}, [${edgesAt.join(', ')}]) AS c${i}_edges`,
      );
    } else if (isCategorical(c)) {
      base.push(`approx_top_k(CAST(${col} AS VARCHAR), ${PROFILE_TOP_VALUES}) AS c${i}_topk`);
    } else {
      base.push(`CAST(min(${col}) AS VARCHAR) AS c${i}_min`, `CAST(max(${col}) AS VARCHAR) AS c${i}_max`);
    }
    return base;
  });
  const first = (await db.runAndReadAll(`SELECT count(*) AS __rows, ${aggs.join(', ')} FROM ${source}`)).getRowObjectsJS()[0]!;
  progress({ stage: 'profile', done: 1, total: 2, unit: 'passes' });
  const rows = Number(first.__rows);

  // Second pass: rows per quantile bin for numeric columns, exact value counts for the top values.
  const edges = new Map<number, number[]>();
  const second: string[] = [];
  schema.forEach((c, i) => {
    const col = sqlIdent(c.name);
    if (isNumeric(c)) {
      const e = [...new Set(((first[`c${i}_edges`] ?? []) as unknown[]).map(Number))].filter(Number.isFinite);
      edges.set(i, e);
      for (let b = 0; b + 1 < e.length; b++) {
        const upper = b + 2 === e.length ? `<= ${e[b + 1]}` : `< ${e[b + 1]}`;
        second.push(`count(*) FILTER (WHERE ${col} >= ${e[b]} AND ${col} ${upper}) AS c${i}_b${b}`);
      }
    } else if (isCategorical(c)) {
      second.push(`histogram(CAST(${col} AS VARCHAR)) FILTER (WHERE list_contains(${sqlList(first[`c${i}_topk`])}, CAST(${col} AS VARCHAR))) AS c${i}_counts`);
    }
  });
  const counts = second.length ? (await db.runAndReadAll(`SELECT ${second.join(', ')} FROM ${source}`)).getRowObjectsJS()[0]! : {};
  progress({ stage: 'profile', done: 2, total: 2, unit: 'passes' });

  const columns = schema.map((c, i): ColumnProfile => {
    const count = Number(first[`c${i}_count`]);
    const profile: ColumnProfile = { name: c.name, type: c.type, count, nulls: rows - count, approxDistinct: Number(first[`c${i}_distinct`]) };
    if (isNumeric(c)) {
      const q = ((first[`c${i}_q`] ?? []) as unknown[]).map(num);
      const e = edges.get(i)!;
      profile.numeric = {
        min: num(first[`c${i}_min`]), max: num(first[`c${i}_max`]), mean: num(first[`c${i}_mean`]), stddev: num(first[`c${i}_sd`]),
        quantiles: PROFILE_QUANTILES.map((qq, k) => ({ q: qq, value: q[k] ?? null })),
        bins: { edges: e, counts: e.slice(1).map((_, b) => Number(counts[`c${i}_b${b}`] ?? 0)) },
      };
    } else if (isCategorical(c)) {
      const histogram = (counts[`c${i}_counts`] ?? []) as { key: unknown; value: unknown }[];
      const top = histogram
        .map(({ key, value }) => ({ value: String(key), count: Number(value) }))
        .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
      profile.categorical = { top, otherCount: count - top.reduce((s, t) => s + t.count, 0) };
    } else {
      profile.range = { min: (first[`c${i}_min`] as string | null) ?? null, max: (first[`c${i}_max`] as string | null) ?? null };
    }
    return profile;
  });
  return { dataset: sha256, rows, columns };
}

function sqlList(values: unknown): string {
  const list = ((values ?? []) as unknown[]).filter((v) => v !== null).map((v) => sqlString(String(v)));
  return list.length ? `[${list.join(', ')}]` : `CAST([] AS VARCHAR[])`;
}
