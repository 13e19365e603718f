import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoEventStore, ensureTable } from '../../lambdas/adapters/dynamodb/DynamoEventStore.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';

/** The Lambda handlers, loaded as Lambda loads them (env first, then the module), against the emulator. */
describe('Lambda handlers (against the moto emulator)', () => {
  let aws: LocalAws;
  let store: DynamoEventStore;
  const saved = { ...process.env };

  beforeAll(async () => {
    aws = await startLocalAws();
    const dynamo = new DynamoDBClient(awsClientConfig(aws));
    await ensureTable(dynamo, 'handler-events');
    store = new DynamoEventStore({ tableName: 'handler-events', client: dynamo });
    const topicArn = (await new SNSClient(awsClientConfig(aws)).send(new CreateTopicCommand({ Name: 'handler-alerts' }))).TopicArn!;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      TABLE_NAME: 'handler-events',
      TOPIC_ARN: topicArn,
      // A cluster nobody answers for: the poller must still record it, and return before its deadline.
      PIPELINE_CONFIG: JSON.stringify({
        clusters: [{ name: 'gone', members: ['http://127.0.0.1:9'] }],
        poll: { intervalSeconds: 1, timeoutMs: 500 },
      }),
    });
  });

  afterAll(async () => {
    process.env = saved;
    await aws?.stop();
  });

  const context = (remainingMs: number) => {
    const deadline = Date.now() + remainingMs;
    return { getRemainingTimeInMillis: () => deadline - Date.now(), functionName: 'test', awsRequestId: 'r' } as unknown as Context;
  };

  it('poller: polls within the invocation, records the cluster, and returns before the Lambda deadline', async () => {
    const { handler } = await import('../../lambdas/handlers/poller.js');
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return write(chunk);
    });
    const started = Date.now();
    const summary = await handler({}, context(6_000)).finally(() => spy.mockRestore());
    // Logs carry the invocation (Powertools' injectLambdaContext); the metrics were flushed as EMF.
    const lines = printed.flatMap((chunk) => chunk.split('\n')).filter((line) => line.startsWith('{'));
    const finished = lines.map((line) => JSON.parse(line)).find((entry) => entry.message === 'poll loop finished');
    expect(finished).toMatchObject({ function_request_id: 'r', function_name: 'test' });
    expect(lines.some((line) => line.includes('"_aws"') && line.includes('"polls"'))).toBe(true);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(summary.polls).toBeGreaterThanOrEqual(2);
    expect((await store.listEvents('gone')).events.map((e) => e.type)).toEqual(['watch_started', 'cluster_unreachable']);
  });

  it('notifier: publishes the alert of a stream record to the topic and reports no failure', async () => {
    // Prepare
    const sqs = new SQSClient(awsClientConfig(aws));
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'handler-pager' }))).QueueUrl!;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!
      .QueueArn!;
    await new SNSClient(awsClientConfig(aws)).send(
      new SubscribeCommand({
        TopicArn: process.env.TOPIC_ARN!,
        Protocol: 'sqs',
        Endpoint: queueArn,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
    const [, unreachable] = (await store.listEvents('gone')).events;
    const event: DynamoDBStreamEvent = {
      Records: [
        {
          eventID: '1',
          eventName: 'INSERT',
          dynamodb: { SequenceNumber: '100', NewImage: marshall({ ...unreachable, itemType: 'event' }) as never },
        },
      ],
    };
    // Act
    const { handler } = await import('../../lambdas/handlers/notifier.js');
    const result = await handler(event, context(10_000));
    // Assess
    expect(result.batchItemFailures).toEqual([]);
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    expect(received.Messages?.map((m) => JSON.parse(m.Body!).type)).toEqual(['cluster_unreachable']);
  });
});
