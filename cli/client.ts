import { Client, Connection } from '@temporalio/client';
import type { StackConfig } from '../lib/config.js';
import { PlumbError, messageOf } from '../lib/errors.js';
import { temporalConnectionOptions } from '../lib/temporal-connection.js';

/** A Temporal client for one CLI command; `close()` when done. */
export async function connectClient(config: StackConfig): Promise<{ client: Client; close: () => Promise<void> }> {
  const options = await temporalConnectionOptions(config);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: 5000 });
  } catch (err) {
    const hint = config.usesDevServer ? ' Start the stack with `plumb up` (or `plumb dev`).' : '';
    throw new PlumbError('Unavailable', `cannot reach Temporal at ${options.address}: ${messageOf(err)}.${hint}`);
  }
  return {
    client: new Client({ connection, namespace: config.temporal.namespace }),
    close: () => connection.close(),
  };
}
