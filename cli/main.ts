import { Command, CommanderError } from 'commander';
import { DEFAULT_CONFIG_FILE, loadStackConfig } from '../lib/config.js';
import { messageOf } from '../lib/errors.js';
import { registerDataCommands } from './data.js';
import { registerDemoCommand } from './demo.js';
import { registerMonitoringCommands } from './monitoring.js';
import { registerRegistryCommands } from './registry.js';
import { registerRolloutCommands } from './rollouts.js';
import { registerRunCommands } from './run-commands.js';
import { registerServingCommands } from './serving.js';
import { registerTrainCommands } from './train.js';
import { registerScheduleCommands } from './schedule.js';
import { registerScoreCommands } from './score.js';
import { registerStackCommands } from './stack-commands.js';
import { registerTrafficCommands } from './traffic.js';

const program = new Command('plumb')
  .description('plumb: ML pipelines as durable Temporal workflows, ONNX models, a serving pool')
  .option('-c, --config <file>', 'the stack file', process.env.PLUMB_CONFIG ?? DEFAULT_CONFIG_FILE)
  .showHelpAfterError()
  .exitOverride();

const loadConfig = () => loadStackConfig(program.opts<{ config: string }>().config);

registerStackCommands(program, loadConfig);
registerRunCommands(program, loadConfig);
registerDemoCommand(program, loadConfig);
registerDataCommands(program, loadConfig);
registerMonitoringCommands(program, loadConfig);
registerTrainCommands(program, loadConfig);
registerRegistryCommands(program, loadConfig);
registerServingCommands(program, loadConfig);
registerTrafficCommands(program, loadConfig);
registerRolloutCommands(program, loadConfig);
registerScheduleCommands(program, loadConfig);
registerScoreCommands(program, loadConfig);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode; // commander has printed the message (or the help)
  } else {
    process.stderr.write(`plumb: ${messageOf(err).split('\n').join('\n  ')}\n`);
    process.exitCode = 1;
  }
}
