// Process entry: one control worker against whatever Temporal the stack file names.
import { loadStackConfig } from '../lib/config.js';
import { messageOf } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { runControlWorker } from './control-worker.js';
import { configFileFromArgs } from './process-args.js';

const config = await loadStackConfig(configFileFromArgs(process.argv.slice(2)));
const log = createLogger({ level: config.logLevel, context: { process: 'control-worker', pid: process.pid } });
await runControlWorker(config, log).catch((err: unknown) => {
  log.error('control worker failed', { error: messageOf(err) });
  process.exitCode = 1;
});
