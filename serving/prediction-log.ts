import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ArtifactStore } from '../lib/artifact-store.js';
import type { Logger } from '../lib/logger.js';

/**
 * Every prediction, appended asynchronously to Parquet files in the artifact store, partitioned by
 * model and hour: `predictions/model=<name>/hour=<YYYY-MM-DDTHH>/<pool>-<seq>.parquet`. Memory is
 * bounded: when the buffer is full (writing fell behind) new records are dropped and counted, and
 * a prediction never waits for the log.
 */
export interface PredictionRecord {
  time: string;
  requestId: string;
  model: string;
  version: string;
  route: string;
  features: Record<string, number | string>;
  label: number;
  probability: number;
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

export class PredictionLog {
  private buffer: PredictionRecord[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private duck: Promise<DuckDBInstance> | undefined;

  constructor(private readonly options: PredictionLogOptions) {
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  append(records: PredictionRecord[]): void {
    const room = this.options.maxBufferedRecords - this.buffer.length;
    if (room < records.length) this.options.onDropped?.(records.length - Math.max(0, room));
    if (room <= 0) return;
    for (const r of room < records.length ? records.slice(0, room) : records) this.buffer.push(r);
  }

  get buffered(): number {
    return this.buffer.length;
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
    const records = this.buffer;
    this.buffer = [];
    const partitions = new Map<string, PredictionRecord[]>();
    for (const r of records) {
      const key = `predictions/model=${r.model}/hour=${r.time.slice(0, 13)}`;
      let list = partitions.get(key);
      if (!list) partitions.set(key, (list = []));
      list.push(r);
    }
    this.duck ??= DuckDBInstance.create(':memory:');
    const conn = await (await this.duck).connect();
    const { store } = this.options;
    try {
      for (const [partition, rows] of partitions) {
        const json = await store.tempPath('.jsonl');
        const parquet = await store.tempPath('.parquet');
        try {
          await writeFile(json, rows.map((r) => JSON.stringify(r)).join('\n'));
          await conn.run(
            `COPY (SELECT CAST("time" AS TIMESTAMP) AS "time", requestId, model, version, route, features, CAST(label AS BIGINT) AS label, CAST(probability AS DOUBLE) AS probability
               FROM read_json(${sqlString(json)}, format = 'newline_delimited')) TO ${sqlString(parquet)} (FORMAT parquet)`,
          );
          const target = store.namedPath(`${partition}/${this.options.pool}-${Date.now()}-${this.seq++}.parquet`);
          await mkdir(dirname(target), { recursive: true });
          await rename(parquet, target);
          this.options.onWritten?.(rows.length);
        } finally {
          await store.discard(json);
          await store.discard(parquet);
        }
      }
    } catch (err) {
      this.options.onDropped?.(records.length);
      throw err;
    } finally {
      conn.closeSync();
    }
  }
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
