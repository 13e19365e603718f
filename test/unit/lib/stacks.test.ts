import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lambdas/domain/errors.js';
import { DEPLOYABLE, synthesize } from '../../support/cdk.js';

const { app, stateful, service } = synthesize();
const state = Template.fromStack(stateful);
const pipeline = Template.fromStack(service);

describe('Stack: FailoverState', () => {
  it('is protected against deletion', () => {
    expect(stateful.terminationProtection).toBe(true);
  });

  it('keys the table as the event store uses it, with the stream, PITR, KMS, TTL and the byDay index', () => {
    state.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'byDay',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
        }),
      ],
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: Match.objectLike({ SSEEnabled: true, SSEType: 'KMS' }),
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: Match.objectLike({ KMSMasterKeyId: Match.anyValue() }),
        }),
      ],
    });
    state.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
  });

  it('encrypts the topic with the key and refuses non-TLS publishing', () => {
    state.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    state.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  it("subscribes email to every severity and SMS to critical only, each to an incident's opening, escalation, resolution and planned changes, with a dead-letter queue", () => {
    const page = ['open', 'escalate', 'resolve', 'change'];
    state.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      FilterPolicy: { pageSeverity: ['critical', 'warning', 'info'], page },
      RedrivePolicy: Match.anyValue(),
    });
    state.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sms', FilterPolicy: { pageSeverity: ['critical'], page } });
  });

  it('routes the topic to Slack through Chatbot with a read-only guardrail', () => {
    state.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123',
      SlackChannelId: 'C0456',
      GuardrailPolicies: [Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([':iam::aws:policy/ReadOnlyAccess'])]) })],
    });
  });

  it('keeps monthly reports in a KMS-encrypted, versioned, private bucket with a lifecycle', () => {
    state.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'failover-reports-123456789012-eu-west-1',
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 400, NoncurrentVersionExpiration: { NoncurrentDays: 30 } })] },
    });
  });

  it('keeps the Slack webhook in a KMS-encrypted secret', () => {
    state.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: Match.anyValue() });
  });
});

describe('Stack: FailoverService', () => {
  it('shards the clusters across pollers (2 per poller here), each on Node 24 arm64, in the VPC, one at a time, tracing off', () => {
    const pollers = pipeline.findResources('AWS::Lambda::Function', { Properties: { ReservedConcurrentExecutions: 1 } });
    expect(Object.keys(pollers)).toHaveLength(2);
    for (const poller of Object.values(pollers)) {
      expect(poller.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Timeout: 58,
        VpcConfig: { SubnetIds: ['subnet-0aa1', 'subnet-0bb2'], SecurityGroupIds: ['sg-0cc3'] },
        DeadLetterConfig: expect.anything(),
      });
      // Nothing inside is instrumented for X-Ray, so the template does not pay for traces (functionProps.tracing can).
      expect(poller.Properties.TracingConfig).toBeUndefined();
    }
  });

  it('writes the monthly report at 06:00 UTC on the 1st, allowed to put objects under reports/ only', () => {
    pipeline.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 6 1 * ? *)' });
    pipeline.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:PutObject',
            Resource: Match.objectLike({
              'Fn::Join': Match.arrayWith([Match.arrayWith([':s3:::failover-reports-123456789012-eu-west-1/reports/*'])]),
            }),
          }),
        ]),
      },
    });
  });

  it('starts every poller once a minute', () => {
    pipeline.resourcePropertiesCountIs('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' }, 2);
  });

  it('feeds the notifier from the stream: event items only, batches of 500 with no window, one batch per shard, bisect, bounded retries and age, on-failure queue', () => {
    pipeline.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 500,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 21_600,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      FilterCriteria: {
        Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { NewImage: { itemType: { S: ['event'] } } } }) }],
      },
    });
    pipeline.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
  });

  it('puts no password, token or configuration secret in any function environment', () => {
    const functions = pipeline.findResources('AWS::Lambda::Function');
    for (const fn of Object.values(functions)) {
      const env = JSON.stringify(fn.Properties.Environment ?? {});
      expect(env).not.toMatch(/password|token|PIPELINE_CONFIG/i);
    }
  });

  it('grants the prober and pollers read access to exactly the secrets the configuration names', () => {
    const policies = JSON.stringify(pipeline.findResources('AWS::IAM::Policy'));
    for (const name of ['failover/orders-db/probe', 'failover/billing-db/probe', 'failover/orders-db/api'])
      expect(policies).toContain(`secret:${name}`);
  });

  it('alarms on poller errors and heartbeats (one per shard), dead letters, a late notifier, failed invocations, unavailable writes, every function failing or throttled', () => {
    const alarms = Object.values(pipeline.findResources('AWS::CloudWatch::Alarm'));
    const descriptions = alarms.map((a) => String(a.Properties.AlarmDescription).replace(/\. Runbook: .*$/, ''));
    expect(descriptions).toEqual(
      expect.arrayContaining([
        'A poller invocation failed: clusters may be unwatched',
        'A poller run or a write probe could not be started',
        'No poll for 3 minutes: the watcher itself is down',
        'No poll from Poller1 for 3 minutes: the clusters of its shard are unwatched',
        'No poll from Poller2 for 3 minutes: the clusters of its shard are unwatched',
        'Stream records the notifier gave up on: alerts were not sent',
        'The notifier is more than 60 s behind the event stream: alerts are late',
        'Writes through a VIP still failed at the probe deadline',
        'Notifier invocations failed',
        'Prober invocations failed',
        'Reporter invocations failed',
        'Notifier invocations were throttled: work is delayed or dropped',
        'Poller1 invocations were throttled: work is delayed or dropped',
      ]),
    );
    // 2 pollers, notifier, prober, reporter: 5 throttle alarms, 3 error alarms besides the pollers' sum, 2 shard heartbeats, 6 others.
    expect(alarms).toHaveLength(16);
    for (const alarm of alarms) expect(alarm.Properties.AlarmDescription).toMatch(/Runbook: docs\/runbooks\/alarm-[a-z-]+\.md$/);
    pipeline.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'polls',
      TreatMissingData: 'breaching',
      ComparisonOperator: 'LessThanThreshold',
    });
    pipeline.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('sends every alarm, when it fires and when it clears, to a topic where every person is subscribed without a filter', () => {
    // Prepare: the alarm topic each action names, followed across the stacks to its subscriptions.
    const exportValue = (importName: string) =>
      Object.values(state.toJSON().Outputs as Record<string, { Value: { Ref: string }; Export?: { Name: string } }>).find(
        (o) => o.Export?.Name === importName,
      )?.Value.Ref;
    const alarms = Object.values(pipeline.findResources('AWS::CloudWatch::Alarm'));
    const topics = new Set<string | undefined>();
    for (const alarm of alarms) {
      expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
      topics.add(exportValue(alarm.Properties.AlarmActions[0]['Fn::ImportValue']));
    }
    // Assess: one topic, not the alert topic, and both people on it, unfiltered (CloudWatch sends no attributes).
    expect(topics.size).toBe(1);
    const [alarmTopic] = [...topics];
    expect(alarmTopic).toMatch(/^StorageAlarms/);
    const subscriptions = Object.values(state.findResources('AWS::SNS::Subscription')).filter(
      (s) => s.Properties.TopicArn.Ref === alarmTopic,
    );
    expect(subscriptions.map((s) => [s.Properties.Protocol, s.Properties.Endpoint]).sort()).toEqual([
      ['email', 'dba@example.com'],
      ['sms', '+15555550100'],
    ]);
    for (const subscription of subscriptions) expect(subscription.Properties.FilterPolicy).toBeUndefined();
    // CloudWatch may use the key of the encrypted topic; without it the notifications fail silently.
    const keyPolicy = JSON.stringify(Object.values(state.findResources('AWS::KMS::Key'))[0]!.Properties.KeyPolicy);
    expect(keyPolicy).toContain('cloudwatch.amazonaws.com');
  });
});

describe('Option: notify.pagerduty', () => {
  it('lets the notifier read the routing key secret, and nothing else of it', () => {
    const { service: paged } = synthesize({ ...DEPLOYABLE, notify: { pagerduty: { routingKeySecret: 'failover/pagerduty' } } });
    const policies = Object.values(Template.fromStack(paged).findResources('AWS::IAM::Policy'));
    const reading = policies.filter((p) => JSON.stringify(p).includes('secret:failover/pagerduty'));
    expect(reading).toHaveLength(1);
    expect(JSON.stringify(reading[0]!.Properties.Roles)).toContain('Notifier');
  });

  it('refuses a routing key from the environment for a deployment, saying to use a secret', () => {
    expect(() => synthesize({ ...DEPLOYABLE, notify: { pagerduty: { routingKeyEnv: 'PD_KEY' } } })).toThrow(
      /notify.pagerduty: use routingKeySecret/,
    );
  });
});

describe('Option: notify.probe.canaryMinutes', () => {
  it('schedules a canary run of the prober, and none without it', () => {
    const { service: withCanary } = synthesize({ ...DEPLOYABLE, notify: { probe: { canaryMinutes: 5 } } });
    Template.fromStack(withCanary).hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ canary: true }) })],
    });
    pipeline.resourcePropertiesCountIs('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' }, 0);
  });
});

describe('cdk-nag', () => {
  it.each([new AwsSolutionsChecks(), new ServerlessChecks()])('finds nothing unacknowledged ($name)', (pack) => {
    const report = pack.validateScope(app);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.resourceLogicalId ?? JSON.stringify(r.locations)}`),
    );
    expect(findings).toEqual([]);
  });
});

describe('Function: buildApp (bad configuration)', () => {
  const { aws, ...withoutAws } = DEPLOYABLE;
  it.each([
    ['a missing VPC', { ...withoutAws, aws: { ...aws, vpc: undefined } }, 'aws.vpc: is required to deploy'],
    [
      'duplicate cluster names',
      { ...DEPLOYABLE, clusters: [DEPLOYABLE.clusters[0], DEPLOYABLE.clusters[0]] },
      'clusters[1].name: duplicate cluster name "orders-db"',
    ],
    ['a poll interval below 1 s', { ...DEPLOYABLE, poll: { intervalSeconds: 0.5 } }, 'poll.intervalSeconds: must be at least 1 s'],
    ['a poll interval above the schedule', { ...DEPLOYABLE, poll: { intervalSeconds: 90 } }, 'poll.intervalSeconds: must be at most 60 s'],
    ['an unknown key', { ...DEPLOYABLE, aws: { ...aws, vcp: {} } }, 'aws: unknown key "vcp"'],
    [
      'a password in the file',
      { ...DEPLOYABLE, clusters: [{ ...DEPLOYABLE.clusters[1], vip: { host: 'h', user: 'u', password: 'p' } }] },
      'clusters[0].vip: use passwordSecret',
    ],
  ])('fails the synth on %s, naming the key and the fix', (_label, document, message) => {
    expect(() => synthesize(document)).toThrow(ConfigError);
    expect(() => synthesize(document)).toThrow(message);
  });
});
