import { CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { validateForDeployment } from '../lambdas/config/config.js';
import { discoveryParameterName } from '../lambdas/config/discovery.js';
import { FailoverPipeline } from './FailoverPipeline.js';
import { FailoverStorage, reportBucketName } from './FailoverStorage.js';

export type DeployConfig = ReturnType<typeof validateForDeployment>;

export interface StatefulStackProps extends StackProps {
  readonly config: DeployConfig;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Table, topic, key and Slack secret: termination protection on, and retained if the stack is deleted anyway. */
export class FailoverStatefulStack extends Stack {
  public readonly storage: FailoverStorage;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, { terminationProtection: true, ...props });
    this.storage = new FailoverStorage(this, 'Storage', {
      subscriptions: props.config.aws.subscriptions,
      chatbot: props.config.aws.chatbot,
      slackSecret: props.config.aws.slackSecret,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    const outputs = {
      TableName: [this.storage.table.tableName, 'The audit trail: failover history --table NAME (or --stack with this stack)'],
      TableStreamArn: [this.storage.table.tableStreamArn ?? '', "The audit trail's stream, which feeds the notifier"],
      TopicArn: [this.storage.topic.topicArn, 'The alert topic'],
      AlarmTopicArn: [this.storage.alarmTopic.topicArn, "The alarm topic: the pipeline's own alarms, to the same people"],
      ReportBucket: [this.storage.reports.bucketName, 'Monthly availability reports (reports/YYYY-MM/...)'],
      DiscoveryParameter: [discoveryParameterName(this.stackName), 'What failover --stack reads: the names above as one JSON document'],
    } as const;
    for (const [id, [value, description]] of Object.entries(outputs)) new CfnOutput(this, id, { value, description });
  }
}

export interface ServiceStackProps extends StackProps {
  readonly config: DeployConfig;
  readonly storage: FailoverStorage;
}

/** Functions, schedules, alarms and the dashboard: safe to redeploy or replace at any time. */
export class FailoverServiceStack extends Stack {
  public readonly pipeline: FailoverPipeline;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    // The state is imported by reference: grants then land on this stack's roles only, never back on the key or
    // table policies of the stateful stack, so the dependency runs one way.
    const { storage } = props;
    const encryptionKey = Key.fromKeyArn(this, 'Key', storage.key.keyArn);
    this.pipeline = new FailoverPipeline(this, 'Pipeline', {
      config: props.config,
      vpcIds: props.config.aws.vpc,
      table: TableV2.fromTableAttributes(this, 'Events', {
        tableArn: storage.table.tableArn,
        tableStreamArn: storage.table.tableStreamArn,
        encryptionKey,
        // The functions never query the index; leaving it out keeps their policies free of an index/* wildcard.
        grantIndexPermissions: false,
      }),
      topic: Topic.fromTopicAttributes(this, 'Alerts', { topicArn: storage.topic.topicArn, keyArn: storage.key.keyArn }),
      alarmTopic: Topic.fromTopicAttributes(this, 'Alarms', { topicArn: storage.alarmTopic.topicArn, keyArn: storage.key.keyArn }),
      encryptionKey,
      slackSecret: storage.slackSecret
        ? Secret.fromSecretAttributes(this, 'SlackSecret', { secretCompleteArn: storage.slackSecret.secretArn, encryptionKey })
        : undefined,
      clustersPerPoller: props.config.aws.clustersPerPoller,
      reportBucket: Bucket.fromBucketAttributes(this, 'Reports', { bucketName: reportBucketName(this), encryptionKey }),
    });
    Validations.of(this).acknowledge({
      id: 'Annotation::@aws-cdk/core:crossStackReferencesDefaultStrong',
      reason: 'The service stack reads the stateful stack by strong references on purpose: the state must outlive any service deployment.',
    });
  }
}
