import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalArtifactStore } from '../../lib/artifact-store.js';
import { PlumbError } from '../../lib/errors.js';

describe('LocalArtifactStore', () => {
  let dir: string;
  let store: LocalArtifactStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-store-'));
    store = new LocalArtifactStore(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('names an object by the sha256 of its content', async () => {
    const stored = await store.put('hello');
    assert.equal(stored.sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    assert.equal(stored.bytes, 5);
    assert.equal((await store.get(stored.sha256)).toString(), 'hello');
  });

  test('writes nothing new when the same content is stored twice', async () => {
    const first = await store.put('same bytes');
    const second = await store.put('same bytes');
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.equal(second.sha256, first.sha256);
  });

  test('stores a file by content and leaves the file in place', async () => {
    const path = join(dir, 'input.txt');
    await writeFile(path, 'file content');
    const stored = await store.putFile(path);
    assert.equal(await readFile(path, 'utf8'), 'file content');
    assert.equal((await store.get(stored.sha256)).toString(), 'file content');
  });

  test('detects a corrupted object on read and names it', async () => {
    const { sha256 } = await store.put('will be corrupted');
    const path = await store.localPath(sha256);
    await writeFile(path, 'tampered');
    await assert.rejects(store.get(sha256), (err: unknown) => {
      assert.ok(err instanceof PlumbError);
      assert.equal(err.kind, 'Integrity');
      assert.match(err.message, new RegExp(`artifact ${sha256} is corrupted`));
      return true;
    });
    await assert.rejects(store.verify(sha256), /is corrupted/);
  });

  test('rewrites a corrupted object when the same content is stored again', async () => {
    const { sha256 } = await store.put('heal me');
    await writeFile(await store.localPath(sha256), 'broken');
    const again = await store.put('heal me');
    assert.equal(again.created, true);
    assert.equal((await store.get(sha256)).toString(), 'heal me');
  });

  test('reports a missing object as NotFound', async () => {
    await assert.rejects(store.get('a'.repeat(64)), (err: unknown) => err instanceof PlumbError && err.kind === 'NotFound');
  });

  test('refuses object ids that are not sha256 hex', async () => {
    await assert.rejects(store.get('../../etc/passwd'), /invalid artifact id/);
  });

  test('refuses named keys that would escape the store', () => {
    for (const key of ['../outside', 'a/../../b', '/abs/path', 'a//b', '.hidden', 'a/..']) {
      assert.throws(() => store.namedPath(key), /invalid artifact key|escapes the store/, key);
    }
  });

  test('keeps named entries under the store root', async () => {
    await store.putNamed('cache/step=ingest/abc.json', '{"x":1}');
    assert.equal((await store.getNamed('cache/step=ingest/abc.json'))?.toString(), '{"x":1}');
    assert.equal(await store.getNamed('cache/none.json'), undefined);
    assert.ok(store.namedPath('a/b.json').startsWith(join(dir, 'named')));
  });

  test('leaves no temporary files behind after writes', async () => {
    await store.put('tmp check');
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  });
});
