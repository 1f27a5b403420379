// A stand-in for the plumb entry point with only the data commands, so the CLI can be tested as a
// real process (exit codes, stdout) before the lead's cli/main.ts registers them.
import { Command } from 'commander';
import { registerDataCommands } from '../../cli/data.js';
import { parseStackConfig } from '../../lib/config.js';
import { messageOf } from '../../lib/errors.js';

const [artifacts, ...args] = process.argv.slice(2);
const program = new Command('plumb').exitOverride();
registerDataCommands(program, async () => parseStackConfig({ artifacts: { dir: artifacts } }, 'test.yml'));
program.parseAsync(args, { from: 'user' }).catch((err: unknown) => {
  process.stderr.write(`plumb: ${messageOf(err)}\n`);
  process.exit(1);
});
