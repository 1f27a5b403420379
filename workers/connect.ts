import type { Logger } from '../lib/logger.js';
import { PlumbError, messageOf } from '../lib/errors.js';

/**
 * Keeps trying to connect (1 s, doubling to 15 s between tries), logging each failure, so a
 * worker started before its server, or during a server restart, comes up by itself.
 */
export async function connectWithRetry<T>(connect: () => Promise<T>, log: Logger, timeoutMs = Infinity): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let wait = 1000;
  for (;;) {
    try {
      return await connect();
    } catch (err) {
      if (Date.now() + wait > deadline) {
        throw new PlumbError('Unavailable', `cannot reach Temporal: ${messageOf(err)}`, { cause: err });
      }
      log.warn('Temporal is not reachable yet; retrying', { error: messageOf(err), retryInMs: wait });
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 15_000);
    }
  }
}
