import { existsSync } from 'node:fs';
import { literal, openSqlSession } from '../../activities/monitoring/duckdb-session.js';
import type { Feature } from '../../lib/refs.js';

/**
 * The bench tables: 30 features (26 numeric of four shapes — normal, log-normal, uniform, counts
 * with many ties — and 4 categorical), drawn by DuckDB. The current table has drift injected in
 * `f04` (mean + 0.3 σ), `f13` (log-normal scale), `f22` (uniform range) and `c02` (category mix).
 */
export const BENCH_FEATURES: Feature[] = [
  ...Array.from({ length: 26 }, (_, i): Feature => ({ name: `f${String(i).padStart(2, '0')}`, type: 'numeric' })),
  ...Array.from({ length: 4 }, (_, i): Feature => ({ name: `c${String(i).padStart(2, '0')}`, type: 'categorical' })),
];
export const DRIFTED = ['f04', 'f13', 'f22', 'c02'];

const normal = 'sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())';

function column(f: Feature, i: number, drift: boolean): string {
  const d = drift && DRIFTED.includes(f.name);
  if (f.type === 'categorical') {
    return `['a', 'b', 'c', 'd', 'e'][1 + floor(power(random(), ${d ? 1.0 : 1.6}) * 5)::INTEGER] AS ${f.name}`;
  }
  switch (i % 4) {
    case 0:
      return `${i} + ${1 + i / 10} * (${normal} + ${d ? 0.3 : 0}) AS ${f.name}`;
    case 1:
      return `exp(${d ? 0.6 : 0.5} * ${normal}) AS ${f.name}`;
    case 2:
      return `random() * ${d ? 11 : 10} AS ${f.name}`;
    default:
      return `floor(-ln(1 - random()) * 5) AS ${f.name}`;
  }
}

export async function writeBenchTable(path: string, rows: number, drift: boolean): Promise<void> {
  if (existsSync(path)) return;
  const session = await openSqlSession();
  try {
    const columns = BENCH_FEATURES.map((f, i) => column(f, i, drift)).join(',\n  ');
    await session.run(`COPY (SELECT ${columns} FROM range(${rows})) TO ${literal(path)} (FORMAT parquet)`);
  } finally {
    session.close();
  }
}
