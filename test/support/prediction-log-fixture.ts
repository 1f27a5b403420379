import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateChurnFile } from '../../activities/data/churn-generator.js';
import type { ArtifactStore } from '../../lib/artifact-store.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { type DatasetRef, type Feature, artifactUri } from '../../lib/refs.js';

/**
 * Monitor-test data from the churn generator: the training data as a stored dataset (the drift
 * reference), and prediction-log partitions shaped like serving/prediction-log.ts writes them
 * (`time`, `requestId`, `model`, `version`, `route`, the `features` struct, `label`, `probability`).
 */
export const MONITOR_FEATURES: Feature[] = [
  { name: 'tenure_months', type: 'numeric' },
  { name: 'monthly_charges', type: 'numeric' },
  { name: 'contract', type: 'categorical' },
  { name: 'usage_gb', type: 'numeric' },
];

export async function storeChurnReference(store: ArtifactStore, rows: number, seed: number): Promise<DatasetRef> {
  const tmp = await store.tempPath('.parquet');
  try {
    await generateChurnFile({ rows, seed }, tmp);
    const stored = await store.putFile(tmp);
    return {
      kind: 'dataset',
      uri: artifactUri(stored.sha256),
      sha256: stored.sha256,
      rows,
      columns: [
        { name: 'tenure_months', type: 'integer', nullable: true },
        { name: 'monthly_charges', type: 'double', nullable: true },
        { name: 'contract', type: 'string', nullable: true },
        { name: 'usage_gb', type: 'double', nullable: true },
      ],
      source: `churn generator, ${rows} rows, seed ${seed}`,
      createdAt: new Date(0).toISOString(),
    };
  } finally {
    await store.discard(tmp);
  }
}

/** Writes `rows` logged predictions of `model` at `time` (drift 0 = the training population) into its hour partition. */
export async function writePredictionLog(
  store: ArtifactStore,
  o: { model: string; time: Date; rows: number; seed: number; drift: number; file?: string },
): Promise<string> {
  const tmp = await store.tempPath('.parquet');
  const target = store.namedPath(`predictions/model=${o.model}/hour=${o.time.toISOString().slice(0, 13)}/${o.file ?? `test-${o.seed}`}.parquet`);
  try {
    await generateChurnFile({ rows: o.rows, seed: o.seed, drift: o.drift }, tmp);
    await mkdir(dirname(target), { recursive: true });
    await withDuckDB((db) =>
      db.run(`COPY (
        SELECT CAST(${sqlString(o.time.toISOString())} AS TIMESTAMP) AS "time", customer_id AS requestId, ${sqlString(o.model)} AS model,
          '1' AS version, 'stable' AS route,
          struct_pack(tenure_months := tenure_months, monthly_charges := monthly_charges, contract := contract, usage_gb := usage_gb) AS features,
          CAST(churned AS BIGINT) AS label, CASE WHEN churned THEN 0.8 ELSE 0.2 END AS probability
        FROM read_parquet(${sqlString(tmp)})) TO ${sqlString(target)} (FORMAT parquet)`),
    );
    return target;
  } finally {
    await rm(tmp, { force: true });
  }
}
