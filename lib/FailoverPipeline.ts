import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { type ITableV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type ISecurityGroup, type IVpc, SecurityGroup, type SubnetSelection, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { type CfnFunction, type Function as LambdaFunction, Tracing } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { STREAM_DELIVERY } from '../lambdas/adapters/dynamodb/streamDelivery.js';
import { TABLE_SCHEMA } from '../lambdas/adapters/dynamodb/tableSchema.js';
import {
  type AwsConfig,
  type ClusterConfig,
  type PipelineConfig,
  type PipelineConfigInput,
  probeMaxRunSeconds,
  validateConfig,
} from '../lambdas/config/config.js';
import { ConfigError } from '../lambdas/domain/errors.js';
import { type PipelineAlarms, pipelineAlarms } from './pipeline/alarms.js';
import { fleetDashboard } from './pipeline/dashboard.js';
import {
  type FunctionDefaults,
  type FunctionSpec,
  grantPasswordSecrets,
  type PipelineFunctionProps,
  pipelineFunction,
  shard,
} from './pipeline/functions.js';
import { consumeEventStream } from './pipeline/streamConsumer.js';

export interface FailoverPipelineProps {
  /**
   * The configuration: clusters, polling, notification settings, as the YAML file has them (defaults optional).
   * Validated here; a problem throws a ConfigError naming the key.
   */
  readonly config: PipelineConfigInput;
  /** Where the pollers and the prober run: the VPC that reaches the members' REST APIs and the VIPs. Give this or `vpcIds`. */
  readonly vpc?: IVpc;
  /** Subnets of `vpc` the functions use. @default the VPC's private subnets */
  readonly vpcSubnets?: SubnetSelection;
  /** Security groups of the functions in the VPC. @default one new group with all outbound traffic allowed (CDK's default) */
  readonly securityGroups?: ISecurityGroup[];
  /** The VPC by ids (the config file's `aws.vpc`), when there is no IVpc at hand. Ignored when `vpc` is given. */
  readonly vpcIds?: VpcIds;
  /** The audit trail table; its stream (new images) feeds the notifier. */
  readonly table: ITableV2;
  /** The alert topic. */
  readonly topic: ITopic;
  /**
   * Where the alarms notify, alarm and OK. CloudWatch's notifications carry no message attributes, so give a topic
   * whose subscriptions do not filter on them (FailoverStorage's `alarmTopic`). @default `topic`
   */
  readonly alarmTopic?: ITopic;
  /** The key that encrypts the table, topic and secrets. */
  readonly encryptionKey: IKey;
  /**
   * Bucket for the monthly reports. @default no reporter function (FailoverServiceStack always passes
   * FailoverStorage's bucket)
   */
  readonly reportBucket?: IBucket;
  /** Secret holding the Slack webhook URL or bot token. @default no Slack messages from the notifier */
  readonly slackSecret?: ISecret;
  /** Clusters per poller function; the clusters are split into shards of this size. @default 100 */
  readonly clustersPerPoller?: number;
  /** Memory, architecture, log retention and tracing of every function. @default see PipelineFunctionProps */
  readonly functionProps?: PipelineFunctionProps;
  /**
   * Stream batch size of the notifier. There is no batching window, so a record never waits for a batch to fill;
   * under a backlog (a storm) a batch's clusters are handled 64 at a time, each cluster's events in order.
   * @default 500 (STREAM_DELIVERY, chosen from the benchmark of the notifier on the simulated AWS path)
   */
  readonly notifierBatchSize?: number;
  /** Retries of a failing stream batch before its records go to the on-failure queue. @default 10 */
  readonly notifierRetryAttempts?: number;
  /** Oldest record the notifier still handles; older ones go to the on-failure queue. @default 6 hours */
  readonly notifierMaxRecordAge?: Duration;
}

/** A VPC by its ids: the shape of the config file's `aws.vpc`. */
export type VpcIds = NonNullable<AwsConfig['vpc']>;

/**
 * The stateless part of the pipeline: poller functions on a one-minute schedule (one per shard of clusters, one
 * invocation at a time), the notifier on the table's stream, the prober it starts, the on-failure queues,
 * alarms to the alarm topic and a dashboard of the fleet. Each part is built by one method below, from the
 * builders in `lib/pipeline/`.
 */
export class FailoverPipeline extends Construct {
  public readonly pollers: LambdaFunction[];
  public readonly notifier: LambdaFunction;
  public readonly prober: LambdaFunction;
  /** Writes last month's report on the 1st; absent without a report bucket. */
  public readonly reporter: LambdaFunction | undefined;
  /** Stream records the notifier gave up on (the event source mapping's on-failure destination). */
  public readonly deadLetterQueue: Queue;
  /** Failed asynchronous invocations: schedule ticks the poller could not run, probes that could not start. */
  public readonly invocationFailures: Queue;
  /** The pipeline's own alarms, by name, each notifying `alarmTopic` on ALARM and OK; add actions of your own to any of them. */
  public readonly alarms: PipelineAlarms;
  public readonly dashboard: Dashboard;
  /** The configuration after validation, defaults filled in. */
  public readonly config: PipelineConfig;

  private readonly vpc: IVpc;
  private readonly defaults: FunctionDefaults;
  private readonly props: FailoverPipelineProps;
  /** The table by reference, without its indexes: grants land on the functions' roles and never cover index/*. */
  private readonly table: ITableV2;

  constructor(scope: Construct, id: string, props: FailoverPipelineProps) {
    super(scope, id);
    this.props = props;
    this.config = validateConfig(props.config, `${this.node.path} config`);
    validateProps(props, this.config);
    const placement = this.placement();
    this.vpc = placement.vpc;
    this.table = TableV2.fromTableAttributes(this, 'Events', {
      tableArn: props.table.tableArn,
      tableStreamArn: props.table.tableStreamArn,
      encryptionKey: props.encryptionKey,
      grantIndexPermissions: false,
    });
    this.defaults = { tableName: props.table.tableName, functionProps: props.functionProps ?? {}, placement };
    // SQS-managed encryption: EventBridge and Lambda's async machinery write here without a key policy.
    this.invocationFailures = new Queue(this, 'InvocationFailures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.deadLetterQueue = new Queue(this, 'NotifierFailures', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const shards = shard(this.config.clusters, props.clustersPerPoller ?? 100);
    this.pollers = shards.map((clusters, index) => this.poller(clusters, shards.length === 1 ? 'Poller' : `Poller${index + 1}`));
    this.prober = this.writeProber();
    this.notifier = this.streamNotifier();
    this.reporter = props.reportBucket ? this.monthlyReporter(props.reportBucket) : undefined;
    this.alarms = pipelineAlarms(this, {
      pollers: this.pollers,
      functions: Object.fromEntries(this.functions().map((fn) => [fn.node.id, fn])),
      notifier: this.notifier,
      notifierFailures: this.deadLetterQueue,
      invocationFailures: this.invocationFailures,
      topic: props.alarmTopic ?? props.topic,
      runbookBaseUrl: this.config.notify.runbookBaseUrl,
    });
    this.dashboard = fleetDashboard(this);
    this.acknowledgeDesignDecisions();
  }

  /** Every function of the pipeline. */
  private functions(): LambdaFunction[] {
    return [...this.pollers, this.notifier, this.prober, ...(this.reporter ? [this.reporter] : [])];
  }

  /** The VPC, subnets and security groups: the user's own, or imported from the ids of `vpcIds`. */
  private placement(): FunctionDefaults['placement'] {
    const { vpc, vpcIds, vpcSubnets, securityGroups } = this.props;
    if (vpc) return { vpc, vpcSubnets: vpcSubnets ?? { subnetType: SubnetType.PRIVATE_WITH_EGRESS }, securityGroups };
    if (!vpcIds)
      throw new ConfigError(`${this.node.path}: give \`vpc\` (an IVpc) or \`vpcIds\`: the pollers and the prober must reach the clusters`);
    const imported = Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: vpcIds.vpcId,
      availabilityZones: vpcIds.availabilityZones,
      privateSubnetIds: vpcIds.privateSubnetIds,
    });
    return {
      vpc: imported,
      vpcSubnets: vpcSubnets ?? { subnets: imported.privateSubnets },
      securityGroups:
        securityGroups ?? vpcIds.securityGroupIds.map((sgId, i) => SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, sgId)),
    };
  }

  private function(spec: FunctionSpec): LambdaFunction {
    return pipelineFunction(this, spec, this.defaults);
  }

  /** One shard's poller: started every minute, it polls every `intervalSeconds` inside the invocation. */
  private poller(clusters: ClusterConfig[], name: string): LambdaFunction {
    const { config } = this;
    const fn = this.function({
      name,
      handler: 'poller',
      config: { ...config, clusters },
      // The schedule fires once a minute; the loop stops two seconds before this.
      timeout: Duration.seconds(58),
      inVpc: true,
      // One invocation at a time per shard: a late schedule tick waits instead of polling twice.
      reservedConcurrentExecutions: 1,
      deadLetterQueue: this.invocationFailures,
    });
    this.table.grantReadWriteData(fn);
    grantPasswordSecrets(
      this,
      clusters.map((c) => c.patroni?.passwordSecret),
      fn,
    );
    new Rule(this, `${name}Schedule`, {
      description: `Starts ${name} every minute; it polls ${clusters.length} clusters every ${config.poll.intervalSeconds} s inside the invocation`,
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaTarget(fn, { retryAttempts: 0, deadLetterQueue: this.invocationFailures })],
    });
    return fn;
  }

  /** The write probe, started by the notifier; and, when configured, the standing canary on a schedule. */
  private writeProber(): LambdaFunction {
    const { config } = this;
    const fn = this.function({
      name: 'Prober',
      handler: 'prober',
      config,
      timeout: Duration.seconds(Math.ceil(probeMaxRunSeconds(config)) + 30),
      inVpc: true,
      deadLetterQueue: this.invocationFailures,
    });
    // It reads the incident's events for the anatomy, and the members' /config and /cluster.
    this.table.grantReadWriteData(fn);
    grantPasswordSecrets(
      this,
      config.clusters.flatMap((c) => [c.vip?.passwordSecret, c.patroni?.passwordSecret]),
      fn,
    );
    const canaryMinutes = config.notify.probe.canaryMinutes;
    if (canaryMinutes) {
      new Rule(this, 'CanarySchedule', {
        description: `One write through every VIP every ${canaryMinutes} min; a failure is recorded and alerted`,
        schedule: Schedule.rate(Duration.minutes(canaryMinutes)),
        targets: [
          new LambdaTarget(fn, {
            event: RuleTargetInput.fromObject({ canary: true }),
            retryAttempts: 0,
            deadLetterQueue: this.invocationFailures,
          }),
        ],
      });
    }
    return fn;
  }

  /** The notifier, on the table's stream: alerts through the topic (and Slack), probes started through the prober. */
  private streamNotifier(): LambdaFunction {
    const { props, config } = this;
    const fn = this.function({
      name: 'Notifier',
      handler: 'notifier',
      config,
      timeout: Duration.seconds(60),
      inVpc: false,
      environment: {
        TOPIC_ARN: props.topic.topicArn,
        PROBER_FUNCTION_NAME: this.prober.functionName,
        ...(props.slackSecret ? { SLACK_SECRET_ARN: props.slackSecret.secretArn } : {}),
      },
    });
    this.table.grantReadWriteData(fn);
    this.table.grantStreamRead(fn);
    props.topic.grantPublish(fn);
    props.encryptionKey.grantEncryptDecrypt(fn);
    props.slackSecret?.grantRead(fn);
    const pagerduty = config.notify.pagerduty;
    if (pagerduty && 'routingKeySecret' in pagerduty) grantPasswordSecrets(this, [pagerduty.routingKeySecret], fn);
    this.prober.grantInvoke(fn);
    consumeEventStream(fn, this.table, {
      batchSize: props.notifierBatchSize ?? STREAM_DELIVERY.batchSize,
      retryAttempts: props.notifierRetryAttempts ?? 10,
      maxRecordAge: props.notifierMaxRecordAge ?? Duration.hours(6),
      onFailure: this.deadLetterQueue,
    });
    return fn;
  }

  /** Last month's reports to the bucket at 06:00 UTC on the 1st, and a summary to the topic. */
  private monthlyReporter(bucket: IBucket): LambdaFunction {
    const { props, config } = this;
    const fn = this.function({
      name: 'Reporter',
      handler: 'reporter',
      config,
      timeout: Duration.minutes(5),
      inVpc: false,
      environment: {
        REPORT_BUCKET: bucket.bucketName,
        TOPIC_ARN: props.topic.topicArn,
      },
      deadLetterQueue: this.invocationFailures,
    });
    this.table.grantReadData(fn);
    // The report reads every cluster's month through the byDay index, and nothing else of it.
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${this.table.tableArn}/index/${TABLE_SCHEMA.index.name}`] }),
    );
    // Only new report objects under reports/: no read, no delete, no other prefix.
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects('reports/*')] }));
    props.topic.grantPublish(fn);
    props.encryptionKey.grantEncryptDecrypt(fn);
    new Rule(this, 'ReporterSchedule', {
      description: "Writes last month's availability report at 06:00 UTC on the 1st",
      schedule: Schedule.cron({ minute: '0', hour: '6', day: '1' }),
      targets: [new LambdaTarget(fn, { retryAttempts: 2, deadLetterQueue: this.invocationFailures })],
    });
    return fn;
  }

  /** cdk-nag findings this design accepts, each with the reason, next to the resources they concern. */
  private acknowledgeDesignDecisions(): void {
    for (const fn of this.functions()) {
      Validations.of(fn).acknowledge(
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason: "AWS's minimal policy for writing the function's own logs.",
        },
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
          reason: "AWS's minimal policy for the network interfaces of a function in a VPC.",
        },
        {
          id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          reason: 'Granted by grant* on the one pipeline key only: DynamoDB, SNS and SQS encryption need the GenerateDataKey family.',
        },
        {
          id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
          reason: 'Granted by grant* on the one pipeline key only (encrypt/decrypt grant).',
        },
      );
      const tracing = this.defaults.functionProps.tracing ?? Tracing.DISABLED;
      Validations.of(fn).acknowledge(
        tracing === Tracing.DISABLED
          ? {
              id: 'Serverless-LambdaTracing',
              reason:
                'Off by default: nothing inside the functions is instrumented, so X-Ray would repeat the duration metrics at a cost; functionProps.tracing turns it on.',
            }
          : { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'X-Ray PutTraceSegments/PutTelemetryRecords accept no resource other than *.' },
      );
    }
    if (this.reporter && this.props.reportBucket) {
      const objects = nagResource(Stack.of(this).resolve(this.props.reportBucket.arnForObjects('reports/*')));
      Validations.of(this.reporter).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${objects}]`,
        reason: 'Report objects are keyed by month under reports/; the policy allows PutObject there and nowhere else.',
      });
    }
    const proberLogicalId = Stack.of(this).getLogicalId(this.prober.node.defaultChild as CfnFunction);
    Validations.of(this.notifier).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::<${proberLogicalId}.Arn>:*]`,
        reason: 'grantInvoke covers the prober and its versions; nothing else.',
      },
      {
        id: 'Serverless-LambdaDLQ',
        reason: "The notifier runs from a stream; failed records go to the event source mapping's on-failure queue (NotifierFailures).",
      },
    );
    for (const queue of [this.deadLetterQueue, this.invocationFailures]) {
      Validations.of(queue).acknowledge(
        { id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue.' },
        { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself a dead-letter queue.' },
      );
    }
    Validations.of(this.vpc).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
      reason: "The functions need subnet ids only; the user's route tables are not ours to reference.",
    });
  }
}

/**
 * A resolved ARN as cdk-nag names it in a finding: literals as they are, `{Ref: X}` as `<X>`, `{Fn::GetAtt: [A, B]}`
 * as `<A.B>`, and `Fn::Join` of those concatenated; so the acknowledgement matches whether the bucket is the user's,
 * FailoverStorage's in the same stack, or one imported by name.
 */
function nagResource(resolved: unknown): string {
  if (typeof resolved === 'string') return resolved;
  const node = resolved as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
  if (node.Ref) return `<${node.Ref}>`;
  if (node['Fn::GetAtt']) return `<${node['Fn::GetAtt'].join('.')}>`;
  if (node['Fn::Join']) return node['Fn::Join'][1].map(nagResource).join(node['Fn::Join'][0]);
  throw new Error(`cannot name ${JSON.stringify(resolved)} as cdk-nag does`);
}

/** Options that contradict the schedule or the sharding are refused before anything is built. */
function validateProps(props: FailoverPipelineProps, config: PipelineConfig): void {
  const clustersPerPoller = props.clustersPerPoller ?? 100;
  if (!Number.isInteger(clustersPerPoller) || clustersPerPoller < 1) {
    throw new ConfigError(`clustersPerPoller must be a positive integer (got ${clustersPerPoller})`);
  }
  if (config.poll.intervalSeconds < 1 || config.poll.intervalSeconds > 60) {
    throw new ConfigError(`poll.intervalSeconds must lie between 1 and 60, the schedule's period (got ${config.poll.intervalSeconds})`);
  }
}
