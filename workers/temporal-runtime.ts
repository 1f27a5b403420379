import { DefaultLogger, type LogLevel as SdkLogLevel, Runtime } from '@temporalio/worker';
import type { Logger } from '../lib/logger.js';

let installed = false;

/** Routes the Temporal SDK's own logs into plumb's JSON logger; once per process. */
export function installTemporalRuntime(log: Logger): void {
  if (installed) return;
  installed = true;
  const sdk = log.child({ component: 'temporal-sdk' });
  const levels: Record<SdkLogLevel, (msg: string, meta?: Record<string, unknown>) => void> = {
    TRACE: sdk.debug,
    DEBUG: sdk.debug,
    INFO: sdk.info,
    WARN: sdk.warn,
    ERROR: sdk.error,
  };
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) => levels[entry.level](entry.message, entry.meta)),
  });
}
