import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PlumbError, badInput } from './errors.js';
import { Sha256 } from './refs.js';

export interface StoredObject {
  sha256: string;
  bytes: number;
  /** false when an identical object was already stored and nothing was written. */
  created: boolean;
}

/**
 * Immutable, content-addressed storage for datasets, models and reports (design: artifact store).
 * Objects are named by their sha256, written atomically and verified when read. `localPath`
 * exists because DuckDB and onnxruntime read files; a remote backend would materialise the object
 * into a local cache there. Named entries (`putNamed`) hold the few mutable things, such as
 * step-cache indexes and prediction-log partitions, under keys checked to stay inside the store.
 *
 *   const store = new LocalArtifactStore('.plumb/artifacts');
 *   const { sha256 } = await store.putFile('/tmp/dataset.parquet');
 *   const path = await store.localPath(sha256); // verified
 */
export interface ArtifactStore {
  put(data: Uint8Array | string): Promise<StoredObject>;
  /** Stores a file's content; the file itself is left in place. */
  putFile(path: string): Promise<StoredObject>;
  has(sha256: string): Promise<boolean>;
  /** Throws a PlumbError of kind NotFound or Integrity. */
  verify(sha256: string): Promise<void>;
  get(sha256: string): Promise<Buffer>;
  localPath(sha256: string): Promise<string>;
  putNamed(key: string, data: Uint8Array | string): Promise<void>;
  getNamed(key: string): Promise<Buffer | undefined>;
  /** A local path for a named key, for writers such as DuckDB's COPY; the key is checked. */
  namedPath(key: string): string;
  /** A fresh path for a temporary file inside the store, on the same filesystem as the objects. */
  tempPath(suffix?: string): Promise<string>;
  /** Removes a temporary file made with tempPath; a missing file is fine. */
  discard(path: string): Promise<void>;
}

const KEY_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._=-]*$/;

export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;
  /** Objects verified by this process, keyed by sha256, with the size and mtime they had then. */
  private readonly verified = new Map<string, { size: number; mtimeMs: number }>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(data: Uint8Array | string): Promise<StoredObject> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (await this.isIntact(sha256)) return { sha256, bytes: bytes.byteLength, created: false };
    const tmp = await this.tempPath();
    await writeFile(tmp, bytes);
    await this.moveIntoPlace(tmp, sha256);
    return { sha256, bytes: bytes.byteLength, created: true };
  }

  async putFile(path: string): Promise<StoredObject> {
    const { sha256, bytes } = await hashFile(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw badInput(`file not found: ${path}`);
      throw err;
    });
    if (await this.isIntact(sha256)) return { sha256, bytes, created: false };
    const tmp = await this.tempPath();
    await pipeline(createReadStream(path), (await open(tmp, 'w')).createWriteStream());
    await this.moveIntoPlace(tmp, sha256);
    return { sha256, bytes, created: true };
  }

  async has(sha256: string): Promise<boolean> {
    return (await stat(this.objectPath(sha256)).catch(() => undefined)) !== undefined;
  }

  async verify(sha256: string): Promise<void> {
    const path = this.objectPath(sha256);
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new PlumbError('NotFound', `artifact ${sha256} is not in the store at ${this.root}`);
    const seen = this.verified.get(sha256);
    if (seen && seen.size === info.size && seen.mtimeMs === info.mtimeMs) return;
    const actual = (await hashFile(path)).sha256;
    if (actual !== sha256) {
      throw new PlumbError('Integrity', `artifact ${sha256} is corrupted: its content hashes to ${actual}`, {
        details: { sha256, actual, path },
      });
    }
    this.verified.set(sha256, { size: info.size, mtimeMs: info.mtimeMs });
  }

  async get(sha256: string): Promise<Buffer> {
    const data = await readFile(this.objectPath(sha256)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new PlumbError('NotFound', `artifact ${sha256} is not in the store at ${this.root}`);
      throw err;
    });
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== sha256) {
      throw new PlumbError('Integrity', `artifact ${sha256} is corrupted: its content hashes to ${actual}`, {
        details: { sha256, actual },
      });
    }
    return data;
  }

  async localPath(sha256: string): Promise<string> {
    await this.verify(sha256);
    return this.objectPath(sha256);
  }

  async putNamed(key: string, data: Uint8Array | string): Promise<void> {
    const path = this.namedPath(key);
    const tmp = await this.tempPath();
    await writeFile(tmp, data);
    await mkdir(dirname(path), { recursive: true });
    await rename(tmp, path);
  }

  async getNamed(key: string): Promise<Buffer | undefined> {
    return readFile(this.namedPath(key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
  }

  namedPath(key: string): string {
    const segments = key.split('/');
    if (segments.length === 0 || !segments.every((s) => KEY_SEGMENT.test(s) && s !== '..' && !s.includes('..'))) {
      throw badInput(`invalid artifact key "${key}": use path segments of letters, digits, '.', '_', '=', '-'`);
    }
    const named = join(this.root, 'named');
    const path = resolve(named, ...segments);
    const rel = relative(named, path);
    if (rel.startsWith('..') || rel.includes(`..${sep}`)) throw badInput(`artifact key "${key}" escapes the store`);
    return path;
  }

  async tempPath(suffix = ''): Promise<string> {
    const dir = join(this.root, 'tmp');
    await mkdir(dir, { recursive: true });
    return join(dir, `${process.pid}-${randomBytes(8).toString('hex')}${suffix}`);
  }

  async discard(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  private objectPath(sha256: string): string {
    const parsed = Sha256.safeParse(sha256);
    if (!parsed.success) throw badInput(`invalid artifact id "${sha256}": expected a lowercase hex sha256`);
    return join(this.root, 'objects', sha256.slice(0, 2), sha256);
  }

  private async isIntact(sha256: string): Promise<boolean> {
    try {
      await this.verify(sha256);
      return true;
    } catch (err) {
      if (err instanceof PlumbError) return false; // missing or corrupted: (re)write it
      throw err;
    }
  }

  private async moveIntoPlace(tmp: string, sha256: string): Promise<void> {
    const path = this.objectPath(sha256);
    await mkdir(dirname(path), { recursive: true });
    await rename(tmp, path);
    this.verified.delete(sha256);
  }
}

export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { sha256: hash.digest('hex'), bytes };
}
