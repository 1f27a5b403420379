import { createHash } from 'node:crypto';
import type { ArtifactStore } from '../lib/artifact-store.js';
import { PlumbError } from '../lib/errors.js';

/**
 * Step caching: a step's output is reused when the same step, at the same code version, ran on
 * the same inputs before — and only after every object the output refers to still exists and
 * verifies against its hash. Keys use refs' content hashes (not their timestamps), so a step
 * recomputed to identical bytes leaves the steps after it cached.
 */
export interface StepCacheEntry {
  step: string;
  version: number;
  key: string;
  output: unknown;
}

export function cacheKey(step: string, version: number, input: unknown): string {
  return createHash('sha256').update(canonicalJson({ step, version, input: contentOnly(input) })).digest('hex');
}

export async function lookupCachedOutput(store: ArtifactStore, step: string, key: string): Promise<unknown | undefined> {
  const raw = await store.getNamed(entryKey(step, key));
  if (!raw) return undefined;
  const entry = JSON.parse(raw.toString('utf8')) as StepCacheEntry;
  for (const sha256 of referencedObjects(entry.output)) {
    try {
      await store.verify(sha256);
    } catch (err) {
      if (err instanceof PlumbError) return undefined; // missing or corrupted: recompute
      throw err;
    }
  }
  return entry.output;
}

export async function saveCachedOutput(store: ArtifactStore, step: string, version: number, key: string, output: unknown): Promise<void> {
  const entry: StepCacheEntry = { step, version, key, output };
  await store.putNamed(entryKey(step, key), JSON.stringify(entry));
}

const entryKey = (step: string, key: string) => `step-cache/${step}/${key}.json`;

/** Every sha256 of a ref (an object with `kind` and `sha256`) anywhere inside a value. */
export function referencedObjects(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) referencedObjects(v, found);
  else if (isRef(value)) found.add(value.sha256);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const v of Object.values(value)) referencedObjects(v, found);
  }
  return found;
}

function isRef(value: unknown): value is { kind: string; sha256: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    typeof (value as { sha256?: unknown }).sha256 === 'string'
  );
}

function contentOnly(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(contentOnly);
  if (isRef(value)) return { kind: value.kind, sha256: value.sha256 };
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, contentOnly(v)]));
  }
  return value;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
