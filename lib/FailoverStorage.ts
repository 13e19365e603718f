import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { LoggingLevel, SlackChannelConfiguration } from 'aws-cdk-lib/aws-chatbot';
import { AttributeType, Billing, StreamViewType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, StorageClass } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { SubscriptionFilter, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, SmsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../lambdas/adapters/dynamodb/tableSchema.js';
import type { AwsConfig } from '../lambdas/config/config.js';
import { discoveryParameterName, type StackDiscovery } from '../lambdas/config/discovery.js';

export interface FailoverStorageProps {
  /** Subscriptions to the alert topic, each filtered by severity. @default none */
  readonly subscriptions?: AwsConfig['subscriptions'];
  /** Also route the alert topic to a Slack channel through AWS Chatbot. @default no Chatbot channel */
  readonly chatbot?: AwsConfig['chatbot'];
  /** Create the secret that holds the Slack webhook URL or bot token. @default false */
  readonly slackSecret?: boolean;
  /** What happens to the table, key and topic when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The pipeline's state: the audit trail (one DynamoDB table with its stream), the alert topic, their KMS key
 * and the Slack secret. Kept apart from the functions so that redeploying code never risks the history.
 */
export class FailoverStorage extends Construct {
  public readonly key: Key;
  public readonly table: TableV2;
  public readonly topic: Topic;
  /**
   * Where the pipeline's CloudWatch alarms notify, alarm and OK. CloudWatch's notifications carry no message
   * attributes, so the severity filters of the alert topic's subscriptions would drop every one of them: this topic
   * has the same people subscribed without a filter (and the Chatbot channel, which formats alarms natively).
   */
  public readonly alarmTopic: Topic;
  public readonly slackSecret: Secret | undefined;
  /** Monthly availability reports (HTML, CSV, JSON). */
  public readonly reports: Bucket;
  /** Alerts SNS could not deliver to an email or SMS subscriber. */
  public readonly undeliveredAlerts: Queue | undefined;
  /**
   * `/patroni-failover/<stack>/config`: the table, stream, topic and bucket as one JSON document, which the CLI's
   * `--stack NAME` reads. One FailoverStorage per stack.
   */
  public readonly discovery: StringParameter;

  constructor(scope: Construct, id: string, props: FailoverStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.key = new Key(this, 'Key', {
      description: 'Encrypts the failover audit trail, its alerts and the Slack secret',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.table = new TableV2(this, 'Events', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.sortKey, type: AttributeType.STRING },
      globalSecondaryIndexes: [
        {
          indexName: TABLE_SCHEMA.index.name,
          partitionKey: { name: TABLE_SCHEMA.index.partitionKey, type: AttributeType.STRING },
          sortKey: { name: TABLE_SCHEMA.index.sortKey, type: AttributeType.STRING },
        },
      ],
      billing: Billing.onDemand(),
      dynamoStream: StreamViewType[TABLE_SCHEMA.streamView],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.customerManagedKey(this.key),
      timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    this.topic = new Topic(this, 'Alerts', { displayName: 'Patroni failover alerts', masterKey: this.key, enforceSSL: true });
    this.alarmTopic = new Topic(this, 'Alarms', { displayName: 'Patroni failover pipeline alarms', masterKey: this.key, enforceSSL: true });
    // CloudWatch publishes alarm notifications to the encrypted topic itself; without the key it fails silently.
    this.key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    const subscriptions = props.subscriptions ?? [];
    this.undeliveredAlerts =
      subscriptions.length > 0
        ? new Queue(this, 'UndeliveredAlerts', {
            encryption: QueueEncryption.SQS_MANAGED,
            enforceSSL: true,
            retentionPeriod: Duration.days(14),
          })
        : undefined;
    for (const subscription of subscriptions) {
      const filtered = {
        // People get an incident's opening, escalation and resolution (and planned changes), at their severities:
        // two messages per incident, not one per event (machine subscribers take them all).
        filterPolicy: {
          pageSeverity: SubscriptionFilter.stringFilter({ allowlist: [...subscription.severities] }),
          page: SubscriptionFilter.stringFilter({ allowlist: ['open', 'escalate', 'resolve', 'change'] }),
        },
        deadLetterQueue: this.undeliveredAlerts,
      };
      // Alarms are about the watcher itself: whoever receives any alert receives all of them.
      const unfiltered = { deadLetterQueue: this.undeliveredAlerts };
      const human = (options: typeof unfiltered) =>
        subscription.protocol === 'email'
          ? new EmailSubscription(subscription.endpoint, options)
          : new SmsSubscription(subscription.endpoint, options);
      this.topic.addSubscription(human(filtered));
      this.alarmTopic.addSubscription(human(unfiltered));
    }
    if (props.chatbot) {
      new SlackChannelConfiguration(this, 'Chatbot', {
        slackChannelConfigurationName: `${id}-alerts`.slice(0, 128),
        slackWorkspaceId: props.chatbot.slackWorkspaceId,
        slackChannelId: props.chatbot.slackChannelId,
        notificationTopics: [this.topic, this.alarmTopic],
        loggingLevel: LoggingLevel.ERROR,
        // The channel may read alerts; it may not change anything in the account.
        guardrailPolicies: [ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')],
      });
    }
    this.reports = new Bucket(this, 'Reports', {
      // A name people can find (account and region make it unique), and one the reporter's policy can name exactly.
      bucketName: reportBucketName(Stack.of(this)),
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      versioned: true,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Reports stay readable for a year of audits; replaced versions (a re-run month) go after 30 days.
      lifecycleRules: [
        {
          transitions: [{ storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) }],
          expiration: Duration.days(400),
          noncurrentVersionExpiration: Duration.days(30),
        },
      ],
      removalPolicy,
    });
    Validations.of(this.reports).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'One function writes this bucket; S3 access logs would need a second bucket that itself has no logs. CloudTrail data events cover audits.',
    });
    this.discovery = this.discoveryParameter();
    this.acknowledgeDesignDecisions(subscriptions);
    this.slackSecret = props.slackSecret
      ? new Secret(this, 'SlackSecret', {
          description: 'Slack target of failover alerts: {"webhookUrl": "..."} or {"botToken": "...", "channel": "#oncall"}',
          encryptionKey: this.key,
          removalPolicy,
        })
      : undefined;
    if (this.slackSecret) {
      Validations.of(this.slackSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'A Slack webhook URL or bot token is issued by Slack; Secrets Manager cannot rotate it.',
      });
    }
  }

  private discoveryParameter(): StringParameter {
    const stack = Stack.of(this);
    const record: StackDiscovery = {
      version: 1,
      tableName: this.table.tableName,
      tableStreamArn: this.table.tableStreamArn ?? '',
      topicArn: this.topic.topicArn,
      reportBucket: this.reports.bucketName,
      region: stack.region,
    };
    return new StringParameter(this, 'Discovery', {
      parameterName: discoveryParameterName(stack.stackName),
      description: 'Patroni failover pipeline: where its table, stream, topic and report bucket are (read by failover --stack)',
      stringValue: stack.toJsonString(record),
    });
  }

  private acknowledgeDesignDecisions(subscriptions: NonNullable<FailoverStorageProps['subscriptions']>): void {
    if (this.undeliveredAlerts) {
      Validations.of(this.undeliveredAlerts).acknowledge(
        { id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the alert subscriptions.' },
        { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself the dead-letter queue of the alert subscriptions.' },
      );
    }
    if (subscriptions.some((s) => s.protocol === 'sms')) {
      for (const topic of [this.topic, this.alarmTopic]) {
        Validations.of(topic).acknowledge({
          id: 'Serverless-SNSRedrivePolicy',
          reason: "CDK's SMS subscription takes no dead-letter queue; SMS delivery failures are in SNS delivery status logs.",
        });
      }
    }
  }
}

/** `failover-reports-<account>-<region>` (CloudFormation pseudo parameters where the stack is environment-agnostic). */
export function reportBucketName(stack: Stack): string {
  return `failover-reports-${stack.account}-${stack.region}`;
}
