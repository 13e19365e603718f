import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duration } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Architecture, Code, type IFunction, Function as LambdaFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../../lambdas/config/config.js';
import { packageRoot } from '../../lambdas/config/packageInfo.js';
import { BUNDLED_CONFIG_FILE } from '../../lambdas/config/pipelineConfig.js';

/** Settings of every function that a user may change (`FailoverPipelineProps.functionProps`). */
export interface PipelineFunctionProps {
  /** @default 512 */
  readonly memorySize?: number;
  /** The bundles are plain JavaScript and run on either. @default Architecture.ARM_64 */
  readonly architecture?: Architecture;
  /** How long function logs are kept. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default Tracing.DISABLED: nothing in the functions is instrumented for X-Ray; metrics and logs carry the figures. */
  readonly tracing?: Tracing;
}

/** Settings every function of the pipeline shares. */
export interface FunctionDefaults {
  readonly tableName: string;
  readonly functionProps: PipelineFunctionProps;
  /** Where functions that reach the clusters run. */
  readonly placement: { readonly vpc: IVpc; readonly vpcSubnets: SubnetSelection; readonly securityGroups?: ISecurityGroup[] };
}

/** One function: its handler, its slice of the configuration, and what it needs beyond the defaults. */
export interface FunctionSpec {
  readonly name: string;
  /** A handler of `lambdas/handlers/`, bundled to `dist/lambda/<handler>/` by `npm run build`. */
  readonly handler: 'poller' | 'notifier' | 'prober' | 'reporter';
  readonly config: PipelineConfig;
  readonly timeout: Duration;
  /** Runs in the VPC: the pollers and the prober reach the members and the VIPs. */
  readonly inVpc: boolean;
  readonly environment?: Record<string, string>;
  readonly reservedConcurrentExecutions?: number;
  readonly deadLetterQueue?: IQueue;
}

/** A function from the package's prebuilt bundle, with its slice of the configuration beside it (no secret is in it). */
export function pipelineFunction(scope: Construct, spec: FunctionSpec, defaults: FunctionDefaults): LambdaFunction {
  const settings = defaults.functionProps;
  const logGroup = new LogGroup(scope, `${spec.name}Logs`, { retention: settings.logRetention ?? RetentionDays.ONE_MONTH });
  const { vpc, vpcSubnets, securityGroups } = defaults.placement;
  return new LambdaFunction(scope, spec.name, {
    code: Code.fromAsset(stagedBundle(spec.handler, spec.config)),
    handler: 'index.handler',
    runtime: Runtime.NODEJS_24_X,
    architecture: settings.architecture ?? Architecture.ARM_64,
    memorySize: settings.memorySize ?? 512,
    timeout: spec.timeout,
    logGroup,
    reservedConcurrentExecutions: spec.reservedConcurrentExecutions,
    deadLetterQueue: spec.deadLetterQueue,
    tracing: settings.tracing ?? Tracing.DISABLED,
    ...(spec.inVpc ? { vpc, vpcSubnets, securityGroups } : {}),
    environment: {
      TABLE_NAME: defaults.tableName,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
      ...spec.environment,
    },
  });
}

/**
 * A directory holding the handler's bundle and the configuration file it reads: named by a hash of both, so the
 * same inputs give the same asset, and built from the package's own files wherever it is installed.
 */
function stagedBundle(handler: FunctionSpec['handler'], config: PipelineConfig): string {
  const bundleDir = join(packageRoot(), 'dist', 'lambda', handler);
  const bundle = join(bundleDir, 'index.mjs');
  if (!existsSync(bundle)) {
    throw new Error(
      `${bundle} is missing: run \`npm run build\` in the patroni-failover-pipeline checkout (an installed package ships it)`,
    );
  }
  const configJson = JSON.stringify(config);
  const hash = createHash('sha256').update(readFileSync(bundle)).update(configJson).digest('hex').slice(0, 16);
  const staged = join(tmpdir(), 'patroni-failover-assets', `${handler}-${hash}`);
  if (!existsSync(join(staged, BUNDLED_CONFIG_FILE))) {
    mkdirSync(staged, { recursive: true });
    for (const file of ['index.mjs', 'index.mjs.map']) copyFileSync(join(bundleDir, file), join(staged, file));
    writeFileSync(join(staged, BUNDLED_CONFIG_FILE), configJson);
  }
  return staged;
}

/** Read access to the Secrets Manager secrets the configuration names, one grant per distinct secret. */
export function grantPasswordSecrets(scope: Construct, names: readonly (string | undefined)[], fn: IFunction): void {
  for (const name of [...new Set(names.filter((n): n is string => Boolean(n)))]) {
    const id = `Secret${name.replace(/[^A-Za-z0-9]/g, '')}${fn.node.id}`;
    Secret.fromSecretNameV2(scope, id, name).grantRead(fn);
  }
}

/** The clusters split into shards of `size`, in configuration order: one poller function each. */
export function shard<T>(items: readonly T[], size: number): T[][] {
  const shards: T[][] = [];
  for (let i = 0; i < items.length; i += size) shards.push(items.slice(i, i + size));
  return shards;
}
