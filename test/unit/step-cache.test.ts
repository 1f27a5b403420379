import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cacheKey, lookupCachedOutput, referencedObjects, saveCachedOutput } from '../../activities/step-cache.js';
import { LocalArtifactStore } from '../../lib/artifact-store.js';

const ref = (sha256: string, createdAt: string) => ({ kind: 'dataset', sha256, uri: `artifact://${sha256}`, rows: 1, createdAt });

describe('step cache', () => {
  let dir: string;
  let store: LocalArtifactStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-cache-'));
    store = new LocalArtifactStore(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('keys on the content of input refs, not on when they were made', () => {
    const a = cacheKey('features', 1, { dataset: ref('a'.repeat(64), '2026-01-01T00:00:00.000Z'), sql: 'select 1' });
    const b = cacheKey('features', 1, { sql: 'select 1', dataset: ref('a'.repeat(64), '2026-02-02T00:00:00.000Z') });
    assert.equal(a, b);
  });

  test('changes the key when the step version, a parameter or an input changes', () => {
    const input = { dataset: ref('a'.repeat(64), 'x'), sql: 'select 1' };
    const base = cacheKey('features', 1, input);
    assert.notEqual(cacheKey('features', 2, input), base);
    assert.notEqual(cacheKey('features', 1, { ...input, sql: 'select 2' }), base);
    assert.notEqual(cacheKey('features', 1, { ...input, dataset: ref('b'.repeat(64), 'x') }), base);
    assert.notEqual(cacheKey('split', 1, input), base);
  });

  test('finds every ref inside an output', () => {
    const out = { train: ref('a'.repeat(64), 'x'), parts: [ref('b'.repeat(64), 'x')], rows: 3 };
    assert.deepEqual([...referencedObjects(out)].sort(), ['a'.repeat(64), 'b'.repeat(64)]);
  });

  test('reuses an output whose objects all verify', async () => {
    const { sha256 } = await store.put('output object');
    const output = { result: ref(sha256, 'x') };
    await saveCachedOutput(store, 'ingest', 1, 'k1', output);
    assert.deepEqual(await lookupCachedOutput(store, 'ingest', 'k1'), output);
  });

  test('misses when an object of the output was deleted', async () => {
    const { sha256 } = await store.put('to be deleted');
    await saveCachedOutput(store, 'ingest', 1, 'k2', { result: ref(sha256, 'x') });
    await unlink(await store.localPath(sha256));
    assert.equal(await lookupCachedOutput(store, 'ingest', 'k2'), undefined);
  });

  test('misses when an object of the output no longer matches its hash', async () => {
    const { sha256 } = await store.put('to be corrupted');
    await saveCachedOutput(store, 'ingest', 1, 'k3', { result: ref(sha256, 'x') });
    await writeFile(await store.localPath(sha256), 'corrupted');
    assert.equal(await lookupCachedOutput(store, 'ingest', 'k3'), undefined);
  });
});
