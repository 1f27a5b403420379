import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { LocalArtifactStore } from '../lib/artifact-store.js';
import type { StackConfig } from '../lib/config.js';
import { sqlIdent, sqlString, withDuckDB } from '../lib/duckdb.js';
import { PlumbError, badInput } from '../lib/errors.js';
import { queryRegistry } from '../lib/registry-client.js';
import type { ModelVersion, RegistryListing } from '../lib/registry-contracts.js';
import { ModelName } from '../lib/registry-contracts.js';
import { connectClient } from './client.js';
import { note } from './output.js';

/**
 * A load generator for a served model: replays rows against the pool's predict endpoint at a steady
 * rate, one row per request, and can drift chosen features on the fly (add to or scale a numeric
 * column) to see what the monitor makes of it. `plumb traffic` and `plumb demo` use it.
 */
export interface FeatureShift {
  column: string;
  /** `add`: value + by; `scale`: value × by. */
  op: 'add' | 'scale';
  by: number;
}

export interface TrafficStats {
  sent: number;
  ok: number;
  failed: number;
  /** Answers per serving version. */
  byVersion: Record<string, number>;
  lastError?: string;
}

export interface TrafficOptions {
  url: string;
  model: string;
  rows: readonly Record<string, unknown>[];
  ratePerSecond: number;
  apiKey?: string | undefined;
  shifts?: FeatureShift[];
}

/** Requests in flight at most: a pool slower than the rate is not buried under a queue. */
const MAX_IN_FLIGHT = 8;

export interface Traffic {
  stats(): TrafficStats;
  /** Applies these shifts to every row sent from now on (an empty list: the rows as they are). */
  shift(shifts: FeatureShift[]): void;
  stop(): Promise<TrafficStats>;
}

export function startTraffic(o: TrafficOptions): Traffic {
  if (o.rows.length === 0) throw badInput('traffic: no rows to send');
  if (!(o.ratePerSecond > 0)) throw badInput(`traffic rate ${o.ratePerSecond}: expected a positive number of requests per second`);
  const stats: TrafficStats = { sent: 0, ok: 0, failed: 0, byVersion: {} };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  const endpoint = `${o.url.replace(/\/$/, '')}/v1/models/${encodeURIComponent(o.model)}:predict`;
  let shifts = o.shifts ?? [];
  let inFlight = 0;
  let issued = 0; // requests due so far, sent or given up
  const pending = new Set<Promise<void>>();

  const send = async (row: Record<string, unknown>): Promise<void> => {
    try {
      const res = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify({ instances: [shifted(row, shifts)] }) });
      const body = (await res.json().catch(() => ({}))) as { version?: string; error?: string };
      if (res.ok && body.version) {
        stats.ok += 1;
        stats.byVersion[body.version] = (stats.byVersion[body.version] ?? 0) + 1;
      } else {
        stats.failed += 1;
        stats.lastError = `${res.status}: ${body.error ?? 'no message'}`;
      }
    } catch (err) {
      stats.failed += 1;
      stats.lastError = err instanceof Error ? err.message : String(err);
    }
  };

  const started = Date.now();
  const timer = setInterval(() => {
    // Catch up to the rate since the start, within the in-flight cap.
    const due = Math.floor(((Date.now() - started) / 1000) * o.ratePerSecond);
    // A backlog beyond one second's requests is given up, not sent in a burst later.
    issued = Math.max(issued, due - Math.ceil(o.ratePerSecond));
    while (issued < due && inFlight < MAX_IN_FLIGHT) {
      const row = o.rows[stats.sent % o.rows.length]!;
      issued += 1;
      stats.sent += 1;
      inFlight += 1;
      const p = send(row).finally(() => {
        inFlight -= 1;
        pending.delete(p);
      });
      pending.add(p);
    }
  }, 20);

  return {
    stats: () => ({ ...stats, byVersion: { ...stats.byVersion } }),
    shift: (next) => {
      shifts = next;
    },
    stop: async () => {
      clearInterval(timer);
      await Promise.all(pending);
      return { ...stats, byVersion: { ...stats.byVersion } };
    },
  };
}

function shifted(row: Record<string, unknown>, shifts: readonly FeatureShift[]): Record<string, unknown> {
  if (shifts.length === 0) return row;
  const out = { ...row };
  for (const s of shifts) {
    const v = out[s.column];
    if (typeof v === 'number') out[s.column] = s.op === 'add' ? v + s.by : v * s.by;
  }
  return out;
}

/**
 * Up to `limit` rows of the production version's held-out data: the last dataset in its lineage
 * that has every model feature (for a pipeline's `[raw, train, test]` that is the test split),
 * with only the feature columns.
 */
export async function heldOutRows(client: Client, store: LocalArtifactStore, model: string, limit: number): Promise<Record<string, unknown>[]> {
  const listing = await queryRegistry<RegistryListing>(client, model, 'list');
  const production = listing.aliases.production;
  if (production === undefined) throw new PlumbError('NotFound', `${model} has no production version to send traffic to`);
  const version = await queryRegistry<ModelVersion>(client, model, 'get', production);
  const features = version.model.features.map((f) => f.name);
  const dataset = [...version.lineage.datasets].reverse().find((d) => features.every((f) => d.columns.some((c) => c.name === f)));
  if (!dataset) throw new PlumbError('NotFound', `${model} v${production}: no dataset in its lineage has all its features (${features.join(', ')}); pass --from <file>`);
  return rowsOf(`read_parquet(${sqlString(await store.localPath(dataset.sha256))})`, features, limit);
}

/** Rows of a DuckDB table expression (a quoted file name is read by its extension), with only `columns` (all when empty). */
async function rowsOf(source: string, columns: readonly string[], limit: number): Promise<Record<string, unknown>[]> {
  const select = columns.length ? columns.map(sqlIdent).join(', ') : '*';
  const rows = await withDuckDB(async (db) => (await db.runAndReadAll(`SELECT ${select} FROM ${source} LIMIT ${limit}`)).getRowObjectsJS());
  // JSON has no BigInt: integer columns go out as numbers.
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
}

/** `col+3` adds 3 to the column, `col*1.5` scales it. */
export function parseShift(text: string): FeatureShift {
  const m = /^([^+*]+)([+*])(-?[0-9]*\.?[0-9]+(?:e-?[0-9]+)?)$/.exec(text.trim());
  if (!m) throw badInput(`--shift "${text}": expected <column>+<number> or <column>*<number>, e.g. monthly_charges*1.5`);
  return { column: m[1]!.trim(), op: m[2] === '+' ? 'add' : 'scale', by: Number(m[3]) };
}

/** `plumb traffic <model>`: steady prediction traffic against the serving pool, until Ctrl-C or --duration. */
export function registerTrafficCommands(program: Command, loadConfig: () => Promise<StackConfig>): void {
  program
    .command('traffic <model>')
    .description("send steady prediction traffic to the serving pool: the production version's held-out rows, or a file's")
    .option('--from <file>', 'rows to replay (Parquet, CSV, JSON lines); default: the held-out data in the production version’s lineage')
    .option('--rate <n>', 'requests per second (one row each)', '20')
    .option('--duration <seconds>', 'stop after this long (default: until Ctrl-C)')
    .option('--shift <column{+|*}number>', 'drift a numeric feature, e.g. monthly_charges*1.5 or support_calls+3; repeat', (v: string, acc: FeatureShift[]) => [...acc, parseShift(v)], [] as FeatureShift[])
    .action(async (name: string, opts: { from?: string; rate: string; duration?: string; shift: FeatureShift[] }) => {
      const model = ModelName.safeParse(name);
      if (!model.success) throw badInput(`model: "${name}" is not a model name`);
      const rate = Number(opts.rate);
      if (!(rate > 0)) throw badInput(`--rate "${opts.rate}": expected a positive number`);
      const duration = opts.duration === undefined ? undefined : Number(opts.duration);
      if (duration !== undefined && !(duration > 0)) throw badInput(`--duration "${opts.duration}": expected a positive number of seconds`);
      const config = await loadConfig();
      const rows = opts.from
        ? await rowsOf(sqlString(opts.from), [], 100_000)
        : await (async () => {
            const { client, close } = await connectClient(config);
            try {
              return await heldOutRows(client, new LocalArtifactStore(config.artifacts.dir), model.data, 100_000);
            } finally {
              await close();
            }
          })();
      const url = `http://${config.serving.host}:${config.serving.port}`;
      const traffic = startTraffic({ url, model: model.data, rows, ratePerSecond: rate, apiKey: process.env.PLUMB_API_KEY, shifts: opts.shift });
      note(`sending ${rate} requests/s to ${url} (${model.data}, ${rows.length} rows${opts.shift.length ? `, shifted: ${opts.shift.map(describeShift).join(', ')}` : ''})`);
      const report = setInterval(() => note(describeStats(traffic.stats())), 5000);
      await new Promise<void>((resolve) => {
        const done = () => resolve();
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
        if (duration !== undefined) setTimeout(done, duration * 1000).unref();
      });
      clearInterval(report);
      note(describeStats(await traffic.stop()));
    });
}

export const describeShift = (s: FeatureShift): string => `${s.column} ${s.op === 'add' ? `+ ${s.by}` : `× ${s.by}`}`;

export function describeStats(s: TrafficStats): string {
  const versions = Object.entries(s.byVersion)
    .map(([v, n]) => `v${v}: ${n}`)
    .join(', ');
  return `${s.sent} sent, ${s.ok} answered${versions ? ` (${versions})` : ''}, ${s.failed} failed${s.lastError && s.failed ? ` (last: ${s.lastError})` : ''}`;
}
