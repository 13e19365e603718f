import { join } from 'node:path';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SecurityGroup, Vpc, type IVpc, type ISecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Architecture, FilterCriteria, FilterRule, Runtime, Tracing, type CfnFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../lambdas/adapters/dynamodb/tableSchema.js';
import type { AwsConfig, ClusterConfig, PipelineConfig } from '../lambdas/config/config.js';

const ROOT = join(import.meta.dirname, '..');
const METRICS_NAMESPACE = 'PatroniFailoverPipeline';

export interface FailoverPipelineProps {
  /** The validated configuration: clusters, polling, notification settings. */
  readonly config: PipelineConfig;
  /** Where the pollers and the prober run: the VPC that reaches the members' REST APIs and the VIPs. */
  readonly vpc: NonNullable<AwsConfig['vpc']>;
  /** The audit trail table; its stream (new images) feeds the notifier. */
  readonly table: ITableV2;
  /** The alert topic. */
  readonly topic: ITopic;
  /** The key that encrypts the table, topic and secrets. */
  readonly encryptionKey: IKey;
  /** Bucket for the monthly reports. @default no monthly report */
  readonly reportBucket?: IBucket;
  /** Availability objective of the monthly reports, in percent. @default 99.95 */
  readonly reportSloPercent?: number;
  /** Secret holding the Slack webhook URL or bot token. @default no Slack messages from the notifier */
  readonly slackSecret?: ISecret;
  /** Clusters per poller function; the clusters are split into shards of this size. @default 100 */
  readonly clustersPerPoller?: number;
  /** Memory of every function, in MB. @default 512 */
  readonly memorySize?: number;
  /** How long function logs are kept. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Stream batch size of the notifier (small: alerts should not wait for a full batch). @default 10 */
  readonly notifierBatchSize?: number;
  /** Retries of a failing stream batch before its records go to the on-failure queue. @default 10 */
  readonly notifierRetryAttempts?: number;
  /** Oldest record the notifier still handles; older ones go to the on-failure queue. @default 6 hours */
  readonly notifierMaxRecordAge?: Duration;
}

/**
 * The stateless part of the pipeline: poller functions on a one-minute schedule (one per shard of clusters, one
 * invocation at a time), the notifier on the table's stream, the prober it starts, the on-failure queue,
 * alarms to the alert topic and a dashboard of the fleet.
 */
export class FailoverPipeline extends Construct {
  public readonly pollers: NodejsFunction[];
  public readonly notifier: NodejsFunction;
  public readonly prober: NodejsFunction;
  /** Writes last month's report on the 1st; absent without a report bucket. */
  public readonly reporter: NodejsFunction | undefined;
  /** Stream records the notifier gave up on (the event source mapping's on-failure destination). */
  public readonly deadLetterQueue: Queue;
  /** Failed asynchronous invocations: schedule ticks the poller could not run, probes that could not start. */
  public readonly invocationFailures: Queue;
  public readonly dashboard: Dashboard;

  private readonly vpc: IVpc;
  private readonly securityGroups: ISecurityGroup[];

  constructor(scope: Construct, id: string, props: FailoverPipelineProps) {
    super(scope, id);
    const clustersPerPoller = props.clustersPerPoller ?? 100;
    if (!Number.isInteger(clustersPerPoller) || clustersPerPoller < 1) {
      throw new Error(`clustersPerPoller must be a positive integer (got ${clustersPerPoller})`);
    }
    if (props.config.poll.intervalSeconds < 1 || props.config.poll.intervalSeconds > 60) {
      throw new Error(`poll.intervalSeconds must lie between 1 and 60, the schedule's period (got ${props.config.poll.intervalSeconds})`);
    }
    this.vpc = Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: props.vpc.vpcId,
      availabilityZones: props.vpc.availabilityZones,
      privateSubnetIds: props.vpc.privateSubnetIds,
    });
    this.securityGroups = props.vpc.securityGroupIds.map((sgId, i) => SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, sgId));

    // SQS-managed encryption: EventBridge and Lambda's async machinery write here without a key policy.
    this.invocationFailures = new Queue(this, 'InvocationFailures', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    const shards = shard(props.config.clusters, clustersPerPoller);
    this.pollers = shards.map((clusters, index) => this.poller(props, clusters, index, shards.length));
    this.prober = this.functionFor('Prober', 'prober.ts', props, props.config, {
      timeout: Duration.seconds(props.config.notify.probe.deadlineSeconds + 30),
      inVpc: true,
      deadLetterQueue: this.invocationFailures,
    });
    props.table.grantWriteData(this.prober);
    grantPasswordSecrets(this, props.config.clusters.map((c) => c.vip?.passwordSecret), this.prober);
    const canaryMinutes = props.config.notify.probe.canaryMinutes;
    if (canaryMinutes) {
      new Rule(this, 'CanarySchedule', {
        description: `One write through every VIP every ${canaryMinutes} min; a failure is recorded and alerted`,
        schedule: Schedule.rate(Duration.minutes(canaryMinutes)),
        targets: [new LambdaFunction(this.prober, { event: RuleTargetInput.fromObject({ canary: true }), retryAttempts: 0, deadLetterQueue: this.invocationFailures })],
      });
    }

    this.deadLetterQueue = new Queue(this, 'NotifierFailures', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.notifier = this.functionFor('Notifier', 'notifier.ts', props, props.config, {
      timeout: Duration.seconds(60),
      inVpc: false,
      environment: {
        TOPIC_ARN: props.topic.topicArn,
        PROBER_FUNCTION_NAME: this.prober.functionName,
        ...(props.slackSecret ? { SLACK_SECRET_ARN: props.slackSecret.secretArn } : {}),
      },
    });
    props.table.grantReadWriteData(this.notifier);
    props.table.grantStreamRead(this.notifier);
    props.topic.grantPublish(this.notifier);
    props.encryptionKey.grantEncryptDecrypt(this.notifier);
    props.slackSecret?.grantRead(this.notifier);
    this.prober.grantInvoke(this.notifier);
    this.notifier.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.notifierBatchSize ?? 10,
        maxBatchingWindow: Duration.seconds(0),
        bisectBatchOnError: true,
        retryAttempts: props.notifierRetryAttempts ?? 10,
        maxRecordAge: props.notifierMaxRecordAge ?? Duration.hours(6),
        // One batch per shard at a time: a cluster's alerts never overtake each other.
        parallelizationFactor: 1,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.deadLetterQueue),
        filters: [FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT'), dynamodb: { NewImage: { [TABLE_SCHEMA.itemTypeAttribute]: { S: FilterRule.isEqual('event') } } } })],
      }),
    );
    this.reporter = props.reportBucket ? this.monthlyReporter(props, props.reportBucket) : undefined;
    this.dashboard = this.alarmsAndDashboard(props);
    this.acknowledgeDesignDecisions();
  }

  /** cdk-nag findings this design accepts, each with the reason, next to the resources they concern. */
  private acknowledgeDesignDecisions(): void {
    for (const fn of [...this.pollers, this.notifier, this.prober, ...(this.reporter ? [this.reporter] : [])]) {
      Validations.of(fn).acknowledge(
        { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'AWS\'s minimal policy for writing the function\'s own logs.' },
        { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]', reason: 'AWS\'s minimal policy for the network interfaces of a function in a VPC.' },
        { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: 'Granted by grant* on the one pipeline key only: DynamoDB, SNS and SQS encryption need the GenerateDataKey family.' },
        { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: 'Granted by grant* on the one pipeline key only (encrypt/decrypt grant).' },
        { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'X-Ray PutTraceSegments/PutTelemetryRecords accept no resource other than *.' },
      );
    }
    if (this.reporter) {
      const stack = Stack.of(this);
      const render = (value: string) => (Token.isUnresolved(value) ? (value === stack.account ? '<AWS::AccountId>' : '<AWS::Region>') : value);
      Validations.of(this.reporter).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::failover-reports-${render(stack.account)}-${render(stack.region)}/reports/*]`,
        reason: 'Report objects are keyed by month under reports/; the policy allows PutObject there and nowhere else.',
      });
    }
    const proberLogicalId = Stack.of(this).getLogicalId(this.prober.node.defaultChild as CfnFunction);
    Validations.of(this.notifier).acknowledge(
      { id: `AwsSolutions-IAM5[Resource::<${proberLogicalId}.Arn>:*]`, reason: 'grantInvoke covers the prober and its versions; nothing else.' },
      { id: 'Serverless-LambdaDLQ', reason: 'The notifier runs from a stream; failed records go to the event source mapping\'s on-failure queue (NotifierFailures).' },
    );
    for (const queue of [this.deadLetterQueue, this.invocationFailures]) {
      Validations.of(queue).acknowledge(
        { id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue.' },
        { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself a dead-letter queue.' },
      );
    }
    Validations.of(this.vpc).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
      reason: 'The functions need subnet ids only; the user\'s route tables are not ours to reference.',
    });
  }

  private monthlyReporter(props: FailoverPipelineProps, bucket: IBucket): NodejsFunction {
    const fn = this.functionFor('Reporter', 'reporter.ts', props, props.config, {
      timeout: Duration.minutes(5),
      inVpc: false,
      environment: { REPORT_BUCKET: bucket.bucketName, TOPIC_ARN: props.topic.topicArn, SLO_PERCENT: String(props.reportSloPercent ?? 99.95) },
      deadLetterQueue: this.invocationFailures,
    });
    props.table.grantReadData(fn);
    // The report reads every cluster's month through the byDay index, and nothing else of it.
    fn.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.table.tableArn}/index/byDay`] }));
    // Only new report objects under reports/: no read, no delete, no other prefix.
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects('reports/*')] }));
    props.topic.grantPublish(fn);
    props.encryptionKey.grantEncryptDecrypt(fn);
    new Rule(this, 'ReporterSchedule', {
      description: "Writes last month's availability report at 06:00 UTC on the 1st",
      schedule: Schedule.cron({ minute: '0', hour: '6', day: '1' }),
      targets: [new LambdaFunction(fn, { retryAttempts: 2, deadLetterQueue: this.invocationFailures })],
    });
    return fn;
  }

  private poller(props: FailoverPipelineProps, clusters: ClusterConfig[], index: number, count: number): NodejsFunction {
    const name = count === 1 ? 'Poller' : `Poller${index + 1}`;
    const fn = this.functionFor(name, 'poller.ts', props, { ...props.config, clusters }, {
      // The schedule fires once a minute; the loop stops two seconds before this.
      timeout: Duration.seconds(58),
      inVpc: true,
      // One invocation at a time per shard: a late schedule tick waits instead of polling twice.
      reservedConcurrentExecutions: 1,
      deadLetterQueue: this.invocationFailures,
    });
    props.table.grantReadWriteData(fn);
    grantPasswordSecrets(this, clusters.map((c) => c.patroni?.passwordSecret), fn);
    new Rule(this, `${name}Schedule`, {
      description: `Starts ${name} every minute; it polls ${clusters.length} clusters every ${props.config.poll.intervalSeconds} s inside the invocation`,
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(fn, { retryAttempts: 0, deadLetterQueue: this.invocationFailures })],
    });
    return fn;
  }

  /** A function bundled by esbuild, with its slice of the configuration compiled in (no secret is in it). */
  private functionFor(
    name: string,
    handlerFile: string,
    props: FailoverPipelineProps,
    config: PipelineConfig,
    options: { timeout: Duration; inVpc: boolean; environment?: Record<string, string>; reservedConcurrentExecutions?: number; deadLetterQueue?: Queue },
  ): NodejsFunction {
    const logGroup = new LogGroup(this, `${name}Logs`, { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    return new NodejsFunction(this, name, {
      entry: join(ROOT, 'lambdas', 'handlers', handlerFile),
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: options.timeout,
      logGroup,
      reservedConcurrentExecutions: options.reservedConcurrentExecutions,
      deadLetterQueue: options.deadLetterQueue,
      tracing: Tracing.ACTIVE,
      ...(options.inVpc ? { vpc: this.vpc, vpcSubnets: { subnets: this.vpc.privateSubnets }, securityGroups: this.securityGroups } : {}),
      environment: {
        TABLE_NAME: props.table.tableName,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...options.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // `pg` requires Node built-ins dynamically; ESM bundles need a require of their own.
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        define: { 'process.env.PIPELINE_CONFIG': JSON.stringify(JSON.stringify(config)) },
        externalModules: ['@aws-sdk/*', 'pg-native'],
      },
    });
  }

  private alarmsAndDashboard(props: FailoverPipelineProps): Dashboard {
    const action = new SnsAction(props.topic);
    const alarm = (id: string, metric: IMetric, description: string, when: 'atLeastOne' | 'none' = 'atLeastOne') => {
      const created = new Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: when === 'atLeastOne' ? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD : ComparisonOperator.LESS_THAN_THRESHOLD,
        // No data from a heartbeat means no heartbeat; no data from an error count means no error.
        treatMissingData: when === 'none' ? TreatMissingData.BREACHING : TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      return created;
    };
    const pollerErrors = new MathExpression({
      expression: this.pollers.map((_, i) => `e${i}`).join(' + '),
      usingMetrics: Object.fromEntries(this.pollers.map((fn, i) => [`e${i}`, fn.metricErrors({ period: Duration.minutes(1) })])),
      label: 'poller errors',
      period: Duration.minutes(1),
    });
    alarm('PollerErrors', pollerErrors, 'A poller invocation failed: clusters may be unwatched');
    const polls = new Metric({ namespace: METRICS_NAMESPACE, metricName: 'polls', dimensionsMap: { service: 'failover-poller' }, statistic: 'Sum', period: Duration.minutes(3) });
    alarm('NoPollHeartbeat', polls, 'No poll for 3 minutes: the watcher itself is down', 'none');
    alarm('NotifierDeadLetters', this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }), 'Stream records the notifier gave up on: alerts were not sent');
    alarm('FailedInvocations', this.invocationFailures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }), 'A poller run or a write probe could not be started');
    const unavailable = new Metric({ namespace: METRICS_NAMESPACE, metricName: 'write_unavailable', dimensionsMap: { service: 'failover-prober' }, statistic: 'Sum', period: Duration.minutes(1) });
    alarm('WriteUnavailable', unavailable, 'Writes through a VIP still failed at the probe deadline');

    const dashboard = new Dashboard(this, 'Fleet', { defaultInterval: Duration.hours(24) });
    const serviceMetric = (service: string, metricName: string, statistic = 'Sum') =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic, period: Duration.minutes(1) });
    dashboard.addWidgets(
      new GraphWidget({ title: 'Polls and failed polls', left: [serviceMetric('failover-poller', 'polls'), serviceMetric('failover-poller', 'failed_polls')] }),
      new GraphWidget({ title: 'Poll loop duration (ms)', left: [serviceMetric('failover-poller', 'loop_duration', 'Maximum')] }),
      new GraphWidget({ title: 'Leader changes and missing leaders', left: [serviceMetric('failover-poller', 'event_leader_changed'), serviceMetric('failover-poller', 'event_no_leader'), serviceMetric('failover-poller', 'event_member_unreachable')] }),
      new GraphWidget({ title: 'Measured write outage (ms, upper bound)', left: [serviceMetric('failover-prober', 'write_outage_max', 'Maximum')], right: [unavailable] }),
      new GraphWidget({ title: 'Alerts by severity', left: ['critical', 'warning', 'info'].map((s) => serviceMetric('failover-notifier', `alert_${s}`)) }),
    );
    return dashboard;
  }
}

function shard<T>(items: readonly T[], size: number): T[][] {
  const shards: T[][] = [];
  for (let i = 0; i < items.length; i += size) shards.push(items.slice(i, i + size));
  return shards;
}

/** Read access to the Secrets Manager secrets the configuration names, one grant per distinct secret. */
function grantPasswordSecrets(scope: Construct, names: readonly (string | undefined)[], fn: IFunction): void {
  for (const name of [...new Set(names.filter((n): n is string => Boolean(n)))]) {
    const id = `Secret${name.replace(/[^A-Za-z0-9]/g, '')}${fn.node.id}`;
    Secret.fromSecretNameV2(scope, id, name).grantRead(fn);
  }
}
