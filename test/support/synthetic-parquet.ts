import { rm, writeFile } from 'node:fs/promises';
import { literal, openSqlSession } from '../../activities/monitoring/duckdb-session.js';
import { seededRandom } from '../../activities/trainers/training-data.js';
import type { Feature } from '../../lib/refs.js';

/**
 * Deterministic synthetic feature tables for drift tests. Numeric feature i is normal with mean i
 * and std 1 + i/10; a drifted numeric feature is shifted by `drift[name]` standard deviations.
 * Categorical features draw from a, b, c, d with probabilities .4 .3 .2 .1, reversed when drifted.
 */
export interface SyntheticTable {
  rows: number;
  seed: number;
  features: readonly Feature[];
  drift?: Record<string, number | true>;
  /** Extra columns computed per row from the row index. */
  extra?: Record<string, (row: number) => string | number>;
}

export async function writeSyntheticParquet(path: string, spec: SyntheticTable): Promise<void> {
  const random = seededRandom(spec.seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const categories = ['a', 'b', 'c', 'd'];
  const extra = Object.entries(spec.extra ?? {});
  const lines = [[...spec.features.map((f) => f.name), ...extra.map(([name]) => name)].join(',')];
  for (let r = 0; r < spec.rows; r++) {
    const cells = spec.features.map((f, i) => {
      const drift = spec.drift?.[f.name];
      if (f.type === 'numeric') {
        const std = 1 + i / 10;
        return String(i + std * (normal() + (typeof drift === 'number' ? drift : 0)));
      }
      const probs = drift ? [0.1, 0.2, 0.3, 0.4] : [0.4, 0.3, 0.2, 0.1];
      let u = random();
      let k = 0;
      while (k < probs.length - 1 && u >= probs[k]!) u -= probs[k++]!;
      return categories[k]!;
    });
    for (const [, value] of extra) cells.push(String(value(r)));
    lines.push(cells.join(','));
  }
  const csv = `${path}.csv`;
  await writeFile(csv, lines.join('\n') + '\n');
  const session = await openSqlSession();
  try {
    await session.run(`COPY (SELECT * FROM read_csv(${literal(csv)}, header = true)) TO ${literal(path)} (FORMAT parquet)`);
  } finally {
    session.close();
    await rm(csv, { force: true });
  }
}
