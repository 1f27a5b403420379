import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataDeps } from '../../activities/data/dataset-writer.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { createLogger } from '../../lib/logger.js';

/** A scratch directory with an artifact store in it, removed by `cleanup`. */
export async function scratch(): Promise<{ dir: string; deps: DataDeps; store: LocalArtifactStore; file: (name: string, content: string | Uint8Array) => Promise<string>; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'plumb-data-'));
  const store = new LocalArtifactStore(join(dir, 'store'));
  return {
    dir,
    store,
    deps: { store, log: createLogger({ level: 'error' }), threads: 2 },
    file: async (name, content) => {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
