import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from '@temporalio/client';
import { type StackConfig, temporalAddress } from './config.js';

/**
 * Connection options for clients and workers, from the stack config: the dev server by default,
 * or an existing cluster (self-hosted or Temporal Cloud) with TLS and/or an API key.
 * `Connection.connect(opts)` and `NativeConnection.connect(opts)` both accept the result.
 */
export type TemporalConnectionOptions = Pick<ConnectionOptions, 'address' | 'tls'> & { apiKey?: string };

export async function temporalConnectionOptions(config: StackConfig): Promise<TemporalConnectionOptions> {
  const { tls, apiKey } = config.temporal;
  const options: TemporalConnectionOptions = { address: temporalAddress(config) };
  if (tls) {
    const read = (path: string | undefined) => (path ? readFile(path) : Promise.resolve(undefined));
    const [ca, cert, key] = await Promise.all([read(tls.ca), read(tls.cert), read(tls.key)]);
    options.tls = {
      ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
    };
  } else if (apiKey) {
    options.tls = true; // API keys are only sent over TLS
  }
  if (apiKey) options.apiKey = apiKey;
  return options;
}
