import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '../../lib/search-attributes.js';
import { temporalConnectionOptions } from '../../lib/temporal-connection.js';
import { createSuite } from './harness.js';

test('registers missing search attributes on a cluster once, and only those', async () => {
  const suite = await createSuite('search-attributes');
  const connection = await Connection.connect(await temporalConnectionOptions(suite.config));
  try {
    const wanted = { PlumbStage: 'Keyword', PlumbTestExtra: 'Keyword' };
    assert.deepEqual(await ensureSearchAttributes(connection, 'default', wanted), ['PlumbTestExtra']);
    assert.deepEqual(await ensureSearchAttributes(connection, 'default', wanted), []);
  } finally {
    await connection.close();
  }
});
