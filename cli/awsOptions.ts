import type { Command } from 'commander';
import type { AwsChoice } from '../local/aws.js';

/** The global AWS options, the way the AWS CLI spells them; each wins over its environment variable. */
export function addAwsOptions(program: Command): Command {
  return program
    .option('--profile <name>', 'AWS profile of ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, else the default profile)')
    .option('--region <region>', "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, else the profile's)")
    .option('--endpoint-url <url>', 'send AWS calls to this endpoint, e.g. a local emulator (default: AWS_ENDPOINT_URL)');
}

/** What the command line chose, read from any subcommand. */
export function awsChoice(command: Command): AwsChoice {
  const options = command.optsWithGlobals<{ profile?: string; region?: string; endpointUrl?: string }>();
  return { profile: options.profile, region: options.region, endpointUrl: options.endpointUrl };
}
