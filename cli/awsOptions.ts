import type { Command } from 'commander';
import type { AwsChoice } from '../local/aws.js';

/**
 * The AWS options, the way the AWS CLI spells them; each wins over its environment variable. They are the
 * program's (before the command: `failover --profile prod history ...`) and every AWS-calling command's (after it).
 * The program's options are positional, so `lab up --profile fast` is the lab's timing profile, never an AWS one.
 */
export function addAwsOptions(command: Command): Command {
  return command
    .option('--profile <name>', 'AWS profile of ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, else the default profile)')
    .option('--region <region>', "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, else the profile's)")
    .option('--endpoint-url <url>', 'send AWS calls to this endpoint, e.g. a local emulator (default: AWS_ENDPOINT_URL)');
}

/** What the command line chose: the command's own options, else the program's. */
export function awsChoice(command: Command): AwsChoice {
  const own = command.opts<AwsChoice>();
  const global = command.optsWithGlobals<AwsChoice>();
  return {
    profile: own.profile ?? global.profile,
    region: own.region ?? global.region,
    endpointUrl: own.endpointUrl ?? global.endpointUrl,
  };
}
