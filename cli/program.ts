import { Command, CommanderError } from 'commander';
import { LabError } from '../lab/errors.js';
import { registerLabCommands } from './labCommands.js';

export function buildProgram(): Command {
  const program = new Command('failover')
    .description('Failover event pipeline for Patroni clusters: watch, alert, verify writes, report SLAs')
    .showHelpAfterError()
    .exitOverride();
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
    if (error instanceof LabError || error instanceof RangeError) {
      process.stderr.write(`failover: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}
