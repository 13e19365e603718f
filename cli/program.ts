import { Command, CommanderError } from 'commander';
import { LabError } from '../lab/errors.js';
import { UsageError } from './errors.js';
import { ConfigError } from '../lambdas/config/config.js';
import { AwsTargetError } from '../local/aws.js';
import { EmulatorError } from '../local/emulator.js';
import { StoreError } from '../lambdas/adapters/dynamodb/EventStore.js';
import { registerLabCommands } from './labCommands.js';
import { registerWatchCommands } from './watchCommands.js';
import { registerDemoCommand } from './demo.js';
import { registerReportCommands } from './reportCommands.js';

export function buildProgram(): Command {
  const program = new Command('failover')
    .description('Failover event pipeline for Patroni clusters: watch, alert, verify writes, report SLAs')
    .showHelpAfterError()
    .exitOverride();
  registerDemoCommand(program);
  registerWatchCommands(program);
  registerReportCommands(program);
  registerLabCommands(program);
  return program;
}

/** Runs the CLI; expected errors print one clear line and exit 1, unexpected ones keep their stack. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`failover: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    if ([LabError, ConfigError, AwsTargetError, EmulatorError, StoreError, RangeError].some((type) => error instanceof type)) {
      const message = (error as Error).message;
      process.stderr.write(`failover: ${message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}
