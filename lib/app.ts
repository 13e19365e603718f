import type { App } from 'aws-cdk-lib';
import { loadConfig, validateForDeployment } from '../lambdas/config/config.js';
import { ConfigError } from '../lambdas/domain/errors.js';
import { FailoverServiceStack, FailoverStatefulStack } from './stacks.js';

/**
 * Builds the two stacks from a configuration file: the same file `failover watch` reads, with its `aws`
 * section. Throws ConfigError, naming the key and the fix, when the file cannot be deployed.
 */
export function buildApp(app: App, configFile: string): { stateful: FailoverStatefulStack; service: FailoverServiceStack } {
  const config = validateForDeployment(loadConfig(configFile), configFile);
  const region = config.aws.region ?? process.env.CDK_DEFAULT_REGION;
  if (!region) {
    // The table's customer-managed key is region-specific: the stacks cannot be region-agnostic.
    throw new ConfigError(`${configFile}: no region to deploy to: set aws.region, or AWS_REGION for the CDK CLI`);
  }
  const env = { account: config.aws.account ?? process.env.CDK_DEFAULT_ACCOUNT, region };
  const stateful = new FailoverStatefulStack(app, 'FailoverState', {
    env,
    config,
    description: 'Patroni failover pipeline: audit trail, alert topic, keys',
  });
  const service = new FailoverServiceStack(app, 'FailoverService', {
    env,
    config,
    storage: stateful.storage,
    description: 'Patroni failover pipeline: poller, notifier, prober, alarms',
  });
  return { stateful, service };
}
