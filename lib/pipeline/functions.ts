import { join } from 'node:path';
import type { Duration } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc } from 'aws-cdk-lib/aws-ec2';
import { Architecture, type IFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../../lambdas/config/config.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Settings every function of the pipeline shares. */
export interface FunctionDefaults {
  readonly tableName: string;
  readonly memorySize: number;
  readonly logRetention: RetentionDays;
  /** Where functions that reach the clusters run; absent for the others. */
  readonly placement: { readonly vpc: IVpc; readonly securityGroups: ISecurityGroup[] };
}

/** One function: its handler, its slice of the configuration, and what it needs beyond the defaults. */
export interface FunctionSpec {
  readonly name: string;
  /** File in `lambdas/handlers/`. */
  readonly handlerFile: string;
  readonly config: PipelineConfig;
  readonly timeout: Duration;
  /** Runs in the VPC: the pollers and the prober reach the members and the VIPs. */
  readonly inVpc: boolean;
  readonly environment?: Record<string, string>;
  readonly reservedConcurrentExecutions?: number;
  readonly deadLetterQueue?: IQueue;
}

/** A function bundled by esbuild, with its slice of the configuration compiled in (no secret is in it). */
export function pipelineFunction(scope: Construct, spec: FunctionSpec, defaults: FunctionDefaults): NodejsFunction {
  const logGroup = new LogGroup(scope, `${spec.name}Logs`, { retention: defaults.logRetention });
  const { vpc, securityGroups } = defaults.placement;
  return new NodejsFunction(scope, spec.name, {
    entry: join(ROOT, 'lambdas', 'handlers', spec.handlerFile),
    handler: 'handler',
    projectRoot: ROOT,
    depsLockFilePath: join(ROOT, 'package-lock.json'),
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: defaults.memorySize,
    timeout: spec.timeout,
    logGroup,
    reservedConcurrentExecutions: spec.reservedConcurrentExecutions,
    deadLetterQueue: spec.deadLetterQueue,
    tracing: Tracing.ACTIVE,
    ...(spec.inVpc ? { vpc, vpcSubnets: { subnets: vpc.privateSubnets }, securityGroups } : {}),
    environment: { TABLE_NAME: defaults.tableName, POWERTOOLS_LOG_LEVEL: 'INFO', ...spec.environment },
    bundling: {
      format: OutputFormat.ESM,
      target: 'node24',
      minify: true,
      // Minified, yet errors keep their class names in the logs (FailoverError subclasses name themselves).
      keepNames: true,
      sourceMap: true,
      // `pg` requires Node built-ins dynamically; ESM bundles need a require of their own.
      banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      define: { 'process.env.PIPELINE_CONFIG': JSON.stringify(JSON.stringify(spec.config)) },
      externalModules: ['@aws-sdk/*', 'pg-native'],
    },
  });
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
