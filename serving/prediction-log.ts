import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ArtifactStore } from '../lib/artifact-store.js';
import type { Logger } from '../lib/logger.js';
import type { Feeds } from './tensors.js';

/**
 * Every prediction, appended asynchronously to Parquet files in the artifact store, partitioned by
 * model and hour: `predictions/model=<name>/hour=<YYYY-MM-DDTHH>/<pool>-<seq>.parquet`. Memory is
 * bounded: when the buffer is full (writing fell behind) new records are dropped and counted, and
 * a prediction never waits for the log.
 */
/** One scored request: its feature columns and outputs as they were computed (no per-row objects). */
export interface PredictionBatch {
  time: string;
  requestId: string;
  model: string;
  version: string;
  route: string;
  rows: number;
  features: Feeds;
  labels: BigInt64Array;
  /** P(class 1) per row. */
  probabilities: ArrayLike<number>;
}

export interface PredictionLogOptions {
  store: ArtifactStore;
  pool: string;
  flushIntervalMs: number;
  maxBufferedRecords: number;
  log: Logger;
  onWritten?: (records: number) => void;
  onDropped?: (records: number) => void;
}

/** Rows serialised between yields to the event loop, so a flush never stalls predictions for long. */
const ROWS_PER_SLICE = 2000;

export class PredictionLog {
  private buffer: PredictionBatch[] = [];
  private bufferedRows = 0;
  private seq = 0;
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private duck: Promise<DuckDBInstance> | undefined;

  constructor(private readonly options: PredictionLogOptions) {
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  /** Buffers a scored request, or drops and counts it when the buffer is full. */
  append(batch: PredictionBatch): void {
    if (this.bufferedRows + batch.rows > this.options.maxBufferedRecords) {
      this.options.onDropped?.(batch.rows);
      return;
    }
    this.buffer.push(batch);
    this.bufferedRows += batch.rows;
  }

  /** Writes what is buffered; concurrent calls queue behind the running write. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBuffered()).catch((err: unknown) => {
      this.options.log.error('prediction log write failed; records dropped', { err });
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.duck) (await this.duck).closeSync();
  }

  private async writeBuffered(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batches = this.buffer;
    const rows = this.bufferedRows;
    this.buffer = [];
    this.bufferedRows = 0;
    // One file per partition and feature schema (versions of a model may differ in features).
    const groups = new Map<string, { partition: string; list: PredictionBatch[] }>();
    for (const b of batches) {
      const partition = `predictions/model=${b.model}/hour=${b.time.slice(0, 13)}`;
      const key = `${partition}\u0000${Object.entries(b.features).map(([n, t]) => `${n}:${t.type}`).join(',')}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { partition, list: [] }));
      group.list.push(b);
    }
    this.duck ??= DuckDBInstance.create(':memory:');
    const conn = await (await this.duck).connect();
    const { store } = this.options;
    try {
      for (const { partition, list } of groups.values()) {
        const json = await store.tempPath('.jsonl');
        const parquet = await store.tempPath('.parquet');
        try {
          const written = await writeColumnarJson(json, list);
          await conn.run(`COPY (${selectRows(json, list[0]!.features)}) TO ${sqlString(parquet)} (FORMAT parquet)`);
          const target = store.namedPath(`${partition}/${this.options.pool}-${Date.now()}-${this.seq++}.parquet`);
          await mkdir(dirname(target), { recursive: true });
          await rename(parquet, target);
          this.options.onWritten?.(written);
        } finally {
          await store.discard(json);
          await store.discard(parquet);
        }
      }
    } catch (err) {
      this.options.onDropped?.(rows);
      throw err;
    } finally {
      conn.closeSync();
    }
  }
}

/**
 * One JSON line per request with its columns as arrays (far cheaper to serialise than one object
 * per row); DuckDB unnests them into rows. Yields to the event loop between slices.
 */
async function writeColumnarJson(path: string, batches: PredictionBatch[]): Promise<number> {
  const file = await open(path, 'w');
  let rows = 0;
  try {
    let lines: string[] = [];
    let pending = 0;
    for (const b of batches) {
      const features: Record<string, (number | string)[]> = {};
      for (const [name, t] of Object.entries(b.features)) features[name] = t.type === 'string' ? t.data : Array.from(t.data, Number);
      lines.push(JSON.stringify({
        time: b.time, requestId: b.requestId, model: b.model, version: b.version, route: b.route,
        label: Array.from(b.labels, Number), probability: Array.from(b.probabilities), features,
      }));
      rows += b.rows;
      pending += b.rows;
      if (pending >= ROWS_PER_SLICE) {
        await file.write(lines.join('\n') + '\n');
        lines = [];
        pending = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (lines.length > 0) await file.write(lines.join('\n') + '\n');
  } finally {
    await file.close();
  }
  return rows;
}

function selectRows(json: string, features: Feeds): string {
  const names = Object.keys(features);
  const ident = (n: string) => `"${n.replaceAll('"', '""')}"`;
  const unnested = names.map((n, i) => `unnest(features.${ident(n)}) AS f${i}`).join(', ');
  const packed = names.map((n, i) => `${ident(n)} := CAST(f${i} AS ${features[n]!.type === 'string' ? 'VARCHAR' : 'DOUBLE'})`).join(', ');
  return `SELECT CAST("time" AS TIMESTAMP) AS "time", requestId, model, version, route, struct_pack(${packed}) AS features,
            CAST(label AS BIGINT) AS label, CAST(probability AS DOUBLE) AS probability
          FROM (SELECT "time", requestId, model, version, route, unnest(label) AS label, unnest(probability) AS probability, ${unnested}
                FROM read_json(${sqlString(json)}, format = 'newline_delimited'))`;
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
