import { Command, CommanderError } from 'commander';
import { packageVersion } from '../lambdas/config/packageInfo.js';
import { FailoverError, messageOf } from '../lambdas/domain/errors.js';
import { addAwsOptions } from './awsOptions.js';
import { registerConfigCommands } from './configCommands.js';
import { registerDemoCommand } from './demo.js';
import { registerLabCommands } from './labCommands.js';
import { registerReportCommands } from './reportCommands.js';
import { registerWatchCommands } from './watchCommands.js';

const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  a failure while running (an unreachable store, a failed write); one line says what
  2  the command was called wrongly (an unknown option or cluster, a bad time, month, format or SLO); one line says what to fix

Environment:
  AWS_PROFILE, AWS_REGION, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL
                    what --profile, --region and --endpoint-url default to; AWS_ACCESS_KEY_ID and the
                    other variables of the SDK's default credential chain are honoured as the AWS CLI does
  AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE
                    where the shared config and credentials files are (default ~/.aws/config, ~/.aws/credentials)
  FAILOVER_LOCAL_AWS_PORT
                    port of the local AWS emulator, used only when no AWS profile, credentials or endpoint is
                    configured (default 4566; the poller's lane is the port after it)
  FAILOVER_DEBUG=1  print the stack of an unexpected error, and debug logs
  Passwords are read from the variables a configuration file names (passwordEnv), never from the command line.`;

export function buildProgram(): Command {
  const program = new Command('failover')
    .description('Failover event pipeline for Patroni clusters: watch, alert, verify writes, report SLAs')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError()
    .enablePositionalOptions()
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride();
  addAwsOptions(program);
  registerDemoCommand(program);
  registerWatchCommands(program);
  registerReportCommands(program);
  registerLabCommands(program);
  registerConfigCommands(program);
  return program;
}

/**
 * Runs the CLI. Every error prints one line and exits with its kind's code: 2 for a command called wrongly
 * (commander's own usage errors included), 1 for a failure while running. Only `FAILOVER_DEBUG=1` shows a stack.
 */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    process.exitCode = exitCodeOf(error);
    if (error instanceof CommanderError) return;
    const message = error instanceof FailoverError ? error.message : `unexpected error: ${messageOf(error)}`;
    process.stderr.write(`failover: ${message}\n`);
    if (process.env.FAILOVER_DEBUG === '1' && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  }
}

/** Help and --version end with 0 through commander too; everything else it raises is a usage error. */
function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  return error instanceof FailoverError ? error.exitCode : 1;
}
