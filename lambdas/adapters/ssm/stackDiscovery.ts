import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { discoveryParameterName, parseDiscovery, type StackDiscovery } from '../../config/discovery.js';
import { EnvironmentError, FailoverError, messageOf, UsageError } from '../../domain/errors.js';
import type { AwsSettings } from '../awsClients.js';

/**
 * Reads what a deployed stack published about itself (`/patroni-failover/<stack>/config`). A stack that is not
 * there is a usage error naming the region searched; any other failure says what AWS answered.
 */
export async function readStackDiscovery(settings: AwsSettings, stackName: string): Promise<StackDiscovery> {
  const client = new SSMClient(settings);
  const name = discoveryParameterName(stackName);
  try {
    const reply = await client.send(new GetParameterCommand({ Name: name }));
    return parseDiscovery(reply.Parameter?.Value ?? '', name);
  } catch (error) {
    if (error instanceof Error && error.name === 'ParameterNotFound') {
      const region = await client.config.region().catch(() => 'the configured region');
      throw new UsageError(
        `no stack "${stackName}" in ${region}: the parameter ${name} does not exist (is the stateful stack deployed there? give its name and --region)`,
      );
    }
    if (error instanceof FailoverError) throw error;
    throw new EnvironmentError(`could not read ${name}: ${messageOf(error)}`);
  } finally {
    client.destroy();
  }
}
