import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SecurityGroup, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lambdas/domain/errors.js';
import { FailoverPipeline, FailoverStorage } from '../../../lib/index.js';
import { synthesize } from '../../support/cdk.js';

const CONFIG = { clusters: [{ name: 'orders-db', members: ['http://10.0.1.11:8008'] }], poll: { intervalSeconds: 5 } };

/** A user's own stack: their VPC and security group, our constructs, the few lines of the README. */
function userStack(pipelineProps: Record<string, unknown> = {}) {
  const app = new App();
  const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new Vpc(stack, 'Vpc', { maxAzs: 2 });
  const databases = new SecurityGroup(stack, 'ReachDatabases', { vpc });
  const storage = new FailoverStorage(stack, 'FailoverStorage');
  const pipeline = new FailoverPipeline(stack, 'Failover', {
    config: CONFIG,
    vpc,
    securityGroups: [databases],
    table: storage.table,
    topic: storage.topic,
    encryptionKey: storage.key,
    ...pipelineProps,
  });
  return { stack, vpc, databases, storage, pipeline, template: Template.fromStack(stack) };
}

// Each test synthesizes a whole stack with a new VPC and stages four bundles: seconds, not milliseconds.
describe('FailoverPipeline in a user stack', { timeout: 30_000 }, () => {
  it("runs the pollers in the user's VPC and security group, with the function settings of functionProps", () => {
    const { template, stack, databases } = userStack({
      functionProps: { memorySize: 1024, architecture: Architecture.X86_64, logRetention: RetentionDays.ONE_WEEK },
    });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(3); // poller, prober, notifier: no report bucket, no reporter
    for (const fn of functions) expect(fn.Properties).toMatchObject({ MemorySize: 1024, Architectures: ['x86_64'] });
    const poller = functions.find((fn) => fn.Properties.ReservedConcurrentExecutions === 1)!;
    expect(JSON.stringify(poller.Properties.VpcConfig.SecurityGroupIds)).toContain(
      stack.getLogicalId(databases.node.defaultChild as never),
    );
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('exposes its alarms by name, so a user can add actions of their own', () => {
    const { pipeline } = userStack();
    expect(Object.keys(pipeline.alarms).sort()).toEqual([
      'failedInvocations',
      'functionErrors',
      'noPollHeartbeat',
      'notifierDeadLetters',
      'notifierIteratorAge',
      'pollerErrors',
      'shardHeartbeats',
      'throttles',
      'writeUnavailable',
    ]);
    expect(pipeline.alarms.noPollHeartbeat.alarmArn).toBeDefined();
    expect(Object.keys(pipeline.alarms.shardHeartbeats)).toEqual(['Poller']);
    expect(Object.keys(pipeline.alarms.throttles).sort()).toEqual(['Notifier', 'Poller', 'Prober']);
  });

  it('validates the configuration object and names the key', () => {
    expect(() => userStack({ config: { clusters: [{ name: 'x', members: ['not a url'] }] } })).toThrow(ConfigError);
    expect(() => userStack({ config: { clusters: [{ name: 'x', members: ['not a url'] }] } })).toThrow(/clusters\[0\]\.members\[0\]/);
  });

  it('refuses to build without a VPC, saying what to give', () => {
    expect(() => userStack({ vpc: undefined })).toThrow(/give `vpc` \(an IVpc\) or `vpcIds`/);
  });
});

describe('FailoverStorage discovery', { timeout: 30_000 }, () => {
  it('publishes /patroni-failover/<stack>/config with the table, stream, topic and bucket', () => {
    const { template } = userStack();
    const parameter = Object.values(template.findResources('AWS::SSM::Parameter'))[0]!;
    expect(parameter.Properties.Name).toBe('/patroni-failover/Platform/config');
    const value = JSON.stringify(parameter.Properties.Value);
    for (const key of ['tableName', 'tableStreamArn', 'topicArn', 'reportBucket', 'region']) expect(value).toContain(key);
  });

  it('the stateful stack outputs the names and the parameter', () => {
    const { stateful } = synthesize();
    const outputs = Template.fromStack(stateful).findOutputs('*');
    // The service stack's cross-stack references are outputs too (ExportsOutput...): the named ones are ours.
    expect(
      Object.keys(outputs)
        .filter((id) => !id.startsWith('ExportsOutput'))
        .sort(),
    ).toEqual(['AlarmTopicArn', 'DiscoveryParameter', 'ReportBucket', 'TableName', 'TableStreamArn', 'TopicArn']);
    expect(outputs.DiscoveryParameter!.Value).toBe('/patroni-failover/FailoverState/config');
    Template.fromStack(stateful).hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/patroni-failover/FailoverState/config',
      Value: Match.anyValue(),
    });
  });
});
