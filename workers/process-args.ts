import { DEFAULT_CONFIG_FILE } from '../lib/config.js';

/** `--config <file>` from a worker process's arguments, else $PLUMB_CONFIG, else temporal-dev.yml. */
export function configFileFromArgs(args: string[]): string {
  const i = args.indexOf('--config');
  return (i >= 0 ? args[i + 1] : undefined) ?? process.env.PLUMB_CONFIG ?? DEFAULT_CONFIG_FILE;
}
