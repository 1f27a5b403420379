import type { ArtifactStore } from '../lib/artifact-store.js';
import type { Logger } from '../lib/logger.js';
import type { StatsSnapshot, VersionStats } from './version-stats.js';

/**
 * Lets a metrics report cover every pool process, whichever of them runs the activity: each
 * process publishes its statistics to `serving/stats/<pool>.json` in the artifact store and lists
 * itself in `serving/pools.json`; a report merges its own live statistics with its peers' latest
 * published ones (at most one publish interval old).
 */
const POOLS_KEY = 'serving/pools.json';

export class StatsExchange {
  constructor(
    private readonly options: { store: ArtifactStore; pool: string; stats: VersionStats; retentionMs: number; log: Logger },
  ) {}

  async publish(): Promise<void> {
    const { store, pool, stats } = this.options;
    await store.putNamed(`serving/stats/${pool}.json`, JSON.stringify(stats.snapshot()));
    const pools = await this.readPools();
    const now = Date.now();
    pools[pool] = new Date(now).toISOString();
    for (const [name, seen] of Object.entries(pools)) if (now - Date.parse(seen) > this.options.retentionMs) delete pools[name];
    await store.putNamed(POOLS_KEY, JSON.stringify(pools));
  }

  /** This process's live statistics first, then each peer's published ones. */
  async collect(): Promise<{ pool: string; stats: StatsSnapshot }[]> {
    const { store, pool, stats } = this.options;
    const all: { pool: string; stats: StatsSnapshot }[] = [{ pool, stats: stats.snapshot() }];
    for (const peer of Object.keys(await this.readPools())) {
      if (peer === pool) continue;
      const raw = await store.getNamed(`serving/stats/${peer}.json`).catch(() => undefined);
      if (!raw) continue;
      try {
        all.push({ pool: peer, stats: JSON.parse(raw.toString('utf8')) as StatsSnapshot });
      } catch {
        this.options.log.warn('ignoring unreadable statistics of a peer pool', { peer });
      }
    }
    return all;
  }

  private async readPools(): Promise<Record<string, string>> {
    const raw = await this.options.store.getNamed(POOLS_KEY);
    if (!raw) return {};
    try {
      const parsed = JSON.parse(raw.toString('utf8')) as unknown;
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
    } catch {
      return {};
    }
  }
}
