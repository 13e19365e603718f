// patroni-failover-pipeline/cdk: the constructs for your own CDK app (see the README, "Use it in your CDK app").

export { loadConfig, type PipelineConfig, type PipelineConfigInput, validateConfig } from '../lambdas/config/config.js';
export { discoveryParameterName, type StackDiscovery } from '../lambdas/config/discovery.js';
export { ConfigError } from '../lambdas/domain/errors.js';
export { FailoverPipeline, type FailoverPipelineProps, type VpcIds } from './FailoverPipeline.js';
export { FailoverStorage, type FailoverStorageProps } from './FailoverStorage.js';
export type { PipelineAlarms } from './pipeline/alarms.js';
export type { PipelineFunctionProps } from './pipeline/functions.js';
export { FailoverServiceStack, FailoverStatefulStack, type ServiceStackProps, type StatefulStackProps } from './stacks.js';
