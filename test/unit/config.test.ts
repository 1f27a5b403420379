import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadStackConfig, parseStackConfig } from '../../lib/config.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';

describe('stack config (temporal-dev.yml)', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'plumb-config-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  const write = async (text: string) => {
    const file = join(dir, `stack-${Math.random().toString(36).slice(2)}.yml`);
    await writeFile(file, text);
    return file;
  };

  test("the project's own temporal-dev.yml loads with the documented task queues", async () => {
    const config = await loadStackConfig(join(PROJECT_ROOT, 'temporal-dev.yml'), {});
    assert.equal(config.taskQueues.control, 'plumb-control');
    assert.equal(config.taskQueues.serving, 'plumb-serving');
    assert.equal(config.usesDevServer, true);
  });

  test('rejects a misspelt key, naming it with its path', async () => {
    const file = await write('devServer:\n  frontendPrt: 7233\n');
    await assert.rejects(loadStackConfig(file, {}), new RegExp(`${file}: unknown key devServer.frontendPrt`));
  });

  test('rejects a string where a port belongs, naming the key and what was expected', async () => {
    const file = await write('serving:\n  port: "eighty"\n');
    await assert.rejects(loadStackConfig(file, {}), /serving\.port: Invalid input: expected number, received string/);
  });

  test('rejects invalid YAML with the file named', async () => {
    const file = await write('devServer: [unclosed\n');
    await assert.rejects(loadStackConfig(file, {}), new RegExp(`${file}: not valid YAML`));
  });

  test('names a missing stack file and how to pass another', async () => {
    await assert.rejects(loadStackConfig(join(dir, 'nope.yml'), {}), /stack file not found: .*nope\.yml \(pass --config <file>\)/);
  });

  test('lets environment variables override the ports', () => {
    const config = parseStackConfig({}, '/x/stack.yml', { PLUMB_TEMPORAL_PORT: '17233', PLUMB_UI_PORT: '18233', PLUMB_SERVING_PORT: '18080' });
    assert.equal(config.devServer.frontendPort, 17233);
    assert.equal(config.devServer.uiPort, 18233);
    assert.equal(config.serving.port, 18080);
  });

  test('rejects a port override that is not a port, naming the variable', () => {
    assert.throws(() => parseStackConfig({}, '/x/stack.yml', { PLUMB_SERVING_PORT: '80a' }), /PLUMB_SERVING_PORT="80a": expected a port number/);
  });

  test("takes an external cluster from Temporal's standard environment variables", () => {
    const config = parseStackConfig({}, '/x/stack.yml', {
      TEMPORAL_ADDRESS: 'acme.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'acme.ml',
      TEMPORAL_API_KEY: 'secret',
      TEMPORAL_TLS_CLIENT_CERT_PATH: 'certs/client.pem',
    });
    assert.equal(config.usesDevServer, false);
    assert.equal(config.temporal.address, 'acme.tmprl.cloud:7233');
    assert.equal(config.temporal.namespace, 'acme.ml');
    assert.equal(config.temporal.apiKey, 'secret');
    assert.equal(config.temporal.tls?.cert, '/x/certs/client.pem');
  });

  test('resolves relative paths against the stack file folder', () => {
    const config = parseStackConfig({ artifacts: { dir: 'store' } }, '/srv/plumb/stack.yml', {});
    assert.equal(config.artifacts.dir, '/srv/plumb/store');
    assert.equal(config.devServer.sqliteFile, '/srv/plumb/.plumb/temporal.sqlite');
  });

  test('requires the search attributes plumb sets on every run', () => {
    assert.throws(
      () => parseStackConfig({ devServer: { searchAttributes: { PlumbStage: 'Text' } } }, '/x/stack.yml', {}),
      /devServer\.searchAttributes\.PlumbPipeline: plumb needs it, declared as Keyword/,
    );
  });
});
