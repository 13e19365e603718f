import { Command, CommanderError } from 'commander';
import { FailoverError } from '../lambdas/domain/errors.js';
import { registerDemoCommand } from './demo.js';
import { registerLabCommands } from './labCommands.js';
import { registerReportCommands } from './reportCommands.js';
import { registerWatchCommands } from './watchCommands.js';

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

/**
 * Runs the CLI. Every error of the product (a FailoverError) prints one clear line and exits with its kind's
 * code: 2 for a command called wrongly, 1 for a failure while running. Anything else is a bug and keeps its stack.
 */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof FailoverError) {
      process.stderr.write(`failover: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    throw error;
  }
}
