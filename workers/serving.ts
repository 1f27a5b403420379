// Process entry: one serving-pool process (HTTP predictions + control activities).
import { loadStackConfig } from '../lib/config.js';
import { messageOf } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { configFileFromArgs } from './process-args.js';
import { runServingProcess } from './serving-process.js';

const log = createLogger({ context: { process: 'serving', pid: process.pid } });
try {
  const config = await loadStackConfig(configFileFromArgs(process.argv.slice(2)));
  await runServingProcess(config, createLogger({ level: config.logLevel, context: { process: 'serving', pid: process.pid } }));
  process.exit(0);
} catch (err) {
  log.error('serving pool failed', { err: messageOf(err) });
  process.exit(1);
}
