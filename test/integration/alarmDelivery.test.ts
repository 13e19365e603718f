import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsAlerts } from '../../lambdas/adapters/sns/SnsAlerts.js';
import { buildAlert } from '../../lambdas/domain/alerts.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { synthesize } from '../support/cdk.js';
import { leaderChangedEvent, makeTestEvent } from '../support/factories.js';

interface TemplateSubscription {
  readonly topic: string;
  readonly protocol: string;
  readonly filterPolicy: unknown;
}

/** What CloudWatch publishes when an alarm changes state: a JSON body, a subject, and no message attributes. */
const CLOUDWATCH_ALARM = {
  AlarmName: 'FailoverService-PipelineNoPollHeartbeat',
  AlarmDescription: 'No poll for 3 minutes: the watcher itself is down. Runbook: docs/runbooks/alarm-no-poll-heartbeat.md',
  NewStateValue: 'ALARM',
  OldStateValue: 'OK',
  NewStateReason: 'Threshold Crossed: no datapoints were received for 1 period',
};

/**
 * The template's human subscriptions (email, SMS) stood in for by SQS queues with the same filter policies, on
 * the emulator's SNS: what reaches them is what would reach the people.
 */
describe('Alarms reach people (the template subscriptions, on the emulator)', () => {
  let aws: LocalAws;
  let sns: SNSClient;
  let sqs: SQSClient;
  const queues = new Map<string, string>();
  let alarmTopicId: string;
  const topicArns = new Map<string, string>();

  beforeAll(async () => {
    aws = await startLocalAws();
    sns = new SNSClient(awsClientConfig(aws));
    sqs = new SQSClient(awsClientConfig(aws));
    const { stateful, service } = synthesize();
    const state = Template.fromStack(stateful).toJSON();
    const subscriptions: TemplateSubscription[] = Object.values(
      state.Resources as Record<
        string,
        { Type: string; Properties: { TopicArn: { Ref: string }; Protocol: string; FilterPolicy?: unknown } }
      >,
    )
      .filter((r) => r.Type === 'AWS::SNS::Subscription')
      .map((r) => ({
        topic: r.Properties.TopicArn.Ref,
        protocol: r.Properties.Protocol,
        filterPolicy: r.Properties.FilterPolicy,
      }));
    // The topic the alarms' actions name, followed from the service stack's import to the stateful stack's export.
    const anAlarm = Object.values(Template.fromStack(service).findResources('AWS::CloudWatch::Alarm'))[0]!;
    const exported = Object.values(state.Outputs as Record<string, { Value: { Ref: string }; Export?: { Name: string } }>).find(
      (o) => o.Export?.Name === anAlarm.Properties.AlarmActions[0]['Fn::ImportValue'],
    );
    alarmTopicId = exported!.Value.Ref;
    for (const subscription of subscriptions) {
      if (!topicArns.has(subscription.topic)) {
        const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: subscription.topic }));
        topicArns.set(subscription.topic, TopicArn!);
      }
      const name = `${subscription.topic}-${subscription.protocol}`;
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
      await sns.send(
        new SubscribeCommand({
          TopicArn: topicArns.get(subscription.topic)!,
          Protocol: 'sqs',
          Endpoint: Attributes!.QueueArn!,
          Attributes: {
            RawMessageDelivery: 'true',
            ...(subscription.filterPolicy ? { FilterPolicy: JSON.stringify(subscription.filterPolicy) } : {}),
          },
        }),
      );
      queues.set(name, QueueUrl!);
    }
  });
  afterAll(async () => aws?.stop());

  const received = async (name: string) =>
    (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.get(name)!, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))).Messages ??
    [];
  const publishAlarm = (topic: string) =>
    sns.send(
      new PublishCommand({
        TopicArn: topicArns.get(topic)!,
        Subject: 'ALARM: "NoPollHeartbeat"',
        Message: JSON.stringify(CLOUDWATCH_ALARM),
      }),
    );

  it("delivers an alarm to the email and the SMS subscription of the alarms' topic", async () => {
    await publishAlarm(alarmTopicId);
    for (const protocol of ['email', 'sms']) {
      const messages = await received(`${alarmTopicId}-${protocol}`);
      expect(
        messages.map((m) => JSON.parse(m.Body!).AlarmName),
        protocol,
      ).toEqual([CLOUDWATCH_ALARM.AlarmName]);
    }
  });

  it('would have lost it on the alert topic, whose subscriptions filter on a severity CloudWatch never sends', async () => {
    const alertTopic = [...topicArns.keys()].find((id) => id !== alarmTopicId)!;
    await publishAlarm(alertTopic);
    for (const protocol of ['email', 'sms']) expect(await received(`${alertTopic}-${protocol}`), protocol).toEqual([]);
  });

  it("gives people an incident's opening and resolution only, two messages, with the SMS text for phones", async () => {
    // Prepare: a critical incident as the notifier publishes it, event by event, through the real adapter.
    const alertTopic = [...topicArns.keys()].find((id) => id !== alarmTopicId)!;
    const alerts = new SnsAlerts(topicArns.get(alertTopic)!, 'json', sns);
    const noLeader = buildAlert(makeTestEvent({ type: 'no_leader', lastLeader: 'pg_node1', since: 1_000 }, 2_000))!;
    const newLeader = buildAlert(
      leaderChangedEvent({ id: 'denemek:0000000777:000', cluster: 'denemek', observedAt: 3_000, previousObservedAt: 2_000 }),
    )!;
    const back = buildAlert(makeTestEvent({ type: 'leader_restored', leader: 'pg_node2', leaderlessSince: 1_000 }, 4_000))!;
    // Act
    await alerts.publish(noLeader, 'k', { action: 'open', severity: 'critical' });
    await alerts.publish(newLeader, 'k', { action: 'update', severity: 'critical' });
    await alerts.publish(back, 'k', { action: 'resolve', severity: 'critical' });
    // Assess: both people get two (raw SQS delivery carries the default, machine text: the event types tell them apart).
    for (const protocol of ['email', 'sms']) {
      const messages = await received(`${alertTopic}-${protocol}`);
      expect(
        messages.map((m) => JSON.parse(m.Body!).type),
        protocol,
      ).toEqual(['no_leader', 'leader_restored']);
    }
  });
});
