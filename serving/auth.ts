import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatIssues } from '../lib/zod-issues.js';
import { PlumbError, badInput } from '../lib/errors.js';

/**
 * API keys with rights: `predict` (inference and metadata) and `admin` (the control endpoints and
 * /metrics). Keys come from a YAML/JSON file and/or an environment variable; with no key at all
 * the pool is open (local development) and says so in its log.
 */
export const Right = z.enum(['predict', 'admin']);
export type Right = z.infer<typeof Right>;

const KeyEntry = z.strictObject({ key: z.string().min(16, 'keys must have at least 16 characters'), rights: z.array(Right).min(1), name: z.string().optional() });
const KeyFile = z.array(KeyEntry);

export interface ApiKey {
  name: string;
  rights: Set<Right>;
  digest: Buffer;
}

export class ApiKeys {
  constructor(private readonly keys: ApiKey[]) {}

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** Throws Unauthenticated (no or unknown key) or Forbidden (key lacks the right); returns the key's name. */
  check(presented: string | undefined, right: Right): string | undefined {
    if (!this.enabled) return undefined;
    if (!presented) throw new PlumbError('Unauthenticated', 'missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"');
    const digest = sha256(presented);
    const key = this.keys.find((k) => timingSafeEqual(k.digest, digest));
    if (!key) throw new PlumbError('Unauthenticated', 'unknown API key');
    if (!key.rights.has(right)) throw new PlumbError('Forbidden', `API key "${key.name}" lacks the "${right}" right`);
    return key.name;
  }
}

/** `key:predict+admin,key2:predict` */
export function parseKeysEnv(value: string, variable: string): ApiKey[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const at = entry.lastIndexOf(':');
      if (at <= 0) throw badInput(`${variable} entry ${i + 1}: expected <key>:<rights>, e.g. s3cret-key-0123456:predict+admin`);
      const rights = entry.slice(at + 1).split('+');
      const parsed = KeyEntry.safeParse({ key: entry.slice(0, at), rights });
      if (!parsed.success) throw badInput(`${variable} entry ${i + 1}: ${formatIssues(parsed.error)}`);
      return { name: `${variable}#${i + 1}`, rights: new Set(parsed.data.rights), digest: sha256(parsed.data.key) };
    });
}

export async function loadApiKeys(options: { file?: string | undefined; envValue?: string | undefined; envName: string }): Promise<ApiKeys> {
  const keys: ApiKey[] = [];
  if (options.file) {
    const text = await readFile(options.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw badInput(`API keys file not found: ${options.file}`);
      throw err;
    });
    const parsed = KeyFile.safeParse(parseYaml(text));
    if (!parsed.success) throw badInput(`${options.file}: ${formatIssues(parsed.error)}`);
    parsed.data.forEach((k, i) => keys.push({ name: k.name ?? `key#${i + 1}`, rights: new Set(k.rights), digest: sha256(k.key) }));
  }
  if (options.envValue) keys.push(...parseKeysEnv(options.envValue, options.envName));
  return new ApiKeys(keys);
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();
