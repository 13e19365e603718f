import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPortFree } from '../../lab/processes.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';

describe('Module: local AWS emulator (moto)', () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });

  async function createStreamTable(dynamo: DynamoDBClient, name: string) {
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
      }),
    );
    const table = await dynamo.send(new DescribeTableCommand({ TableName: name }));
    return table.Table!.LatestStreamArn!;
  }

  async function readStream(streamArn: string) {
    const streams = new DynamoDBStreamsClient(awsClientConfig(aws));
    const description = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const shardId = description.StreamDescription!.Shards![0]!.ShardId!;
    const iterator = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    return streams.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator! }));
  }

  it('delivers a written item as a stream record with its new image', async () => {
    // Prepare
    const dynamo = new DynamoDBClient(awsClientConfig(aws));
    const streamArn = await createStreamTable(dynamo, 'emulator-stream');
    // Act
    await dynamo.send(
      new PutItemCommand({ TableName: 'emulator-stream', Item: { pk: { S: 'c#1' }, sk: { S: 'e#1' }, type: { S: 'leader_changed' } } }),
    );
    const records = await readStream(streamArn);
    // Assess
    expect(records.Records).toHaveLength(1);
    expect(records.Records![0]!.eventName).toBe('INSERT');
    expect(records.Records![0]!.dynamodb!.NewImage!.type).toEqual({ S: 'leader_changed' });
  });

  it("sends stream records in DynamoDB's wire form: every attribute type, keys, sequence and time (local/moto_server_serial.py)", async () => {
    // Prepare: an item with every attribute type, nested as the pipeline's state items are.
    const dynamo = new DynamoDBClient(awsClientConfig(aws));
    const streamArn = await createStreamTable(dynamo, 'emulator-wire-stream');
    const item = {
      pk: { S: 'c#wire' },
      sk: { S: 'STATE' },
      count: { N: '42.5' },
      raw: { B: Uint8Array.from([0, 1, 2, 255]) },
      flag: { BOOL: false },
      nothing: { NULL: true },
      tags: { SS: ['a', 'b'] },
      numbers: { NS: ['1', '2'] },
      blobs: { BS: [Uint8Array.from([7])] },
      state: {
        M: { members: { L: [{ M: { name: { S: 'pg_node1' }, lag: { N: '0' } } }, { NULL: true }] }, note: { S: 'ünïcode "quoted"' } },
      },
    };
    const before = Date.now();
    // Act
    await dynamo.send(new PutItemCommand({ TableName: 'emulator-wire-stream', Item: item }));
    const record = (await readStream(streamArn)).Records![0]!;
    // Assess: the image is the item as written, binary included; the metadata parses as the SDK expects.
    expect(record.dynamodb!.NewImage).toEqual(item);
    expect(record.dynamodb!.Keys).toEqual({ pk: item.pk, sk: item.sk });
    expect(record.dynamodb!.SequenceNumber).toMatch(/^\d+$/);
    expect(record.dynamodb!.ApproximateCreationDateTime).toBeInstanceOf(Date);
    expect(record.dynamodb!.ApproximateCreationDateTime!.getTime()).toBeGreaterThanOrEqual(before - 60_000);
    expect(record).toMatchObject({ eventName: 'INSERT', eventSource: 'aws:dynamodb' });
  });

  it('refuses an item past the size limit and streams only the new image of a changed one (local/moto_server_serial.py)', async () => {
    // Prepare: the limit is checked once per item there, and a record renders only what the table's view keeps.
    const dynamo = new DynamoDBClient(awsClientConfig(aws));
    const streamArn = await createStreamTable(dynamo, 'emulator-size-stream');
    const withNote = (sk: string, bytes: number) => ({ pk: { S: 'c' }, sk: { S: sk }, note: { M: { text: { S: 'x'.repeat(bytes) } } } });
    // Act
    await dynamo.send(new PutItemCommand({ TableName: 'emulator-size-stream', Item: withNote('STATE', 10) }));
    await dynamo.send(new PutItemCommand({ TableName: 'emulator-size-stream', Item: withNote('STATE', 390_000) }));
    const tooLarge = dynamo.send(new PutItemCommand({ TableName: 'emulator-size-stream', Item: withNote('LARGE', 410_000) }));
    // Assess
    await expect(tooLarge).rejects.toMatchObject({ message: expect.stringContaining('maximum allowed size') });
    const records = (await readStream(streamArn)).Records!;
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
    expect(records[1]!.dynamodb!.NewImage!.note!.M!.text!.S).toHaveLength(390_000);
    expect(records[1]!.dynamodb!.OldImage).toBeUndefined();
  });

  it('keeps a stream readable across a failed TransactWriteItems, without the failed writes (local/moto_server_serial.py)', async () => {
    // Prepare: an iterator taken before the failed transaction, as a running stream reader holds one.
    const dynamo = new DynamoDBClient(awsClientConfig(aws));
    const streamArn = await createStreamTable(dynamo, 'emulator-tx-stream');
    const streams = new DynamoDBStreamsClient(awsClientConfig(aws));
    const shardId = (await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))).StreamDescription!.Shards![0]!.ShardId!;
    const iterator = (
      await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'LATEST' }))
    ).ShardIterator!;
    const conditional = (sk: string, condition: string) => ({
      TransactItems: [
        { Put: { TableName: 'emulator-tx-stream', Item: { pk: { S: 'c' }, sk: { S: sk } } } },
        {
          ConditionCheck: { TableName: 'emulator-tx-stream', Key: { pk: { S: 'c' }, sk: { S: 'STATE' } }, ConditionExpression: condition },
        },
      ],
    });
    // Act: one transaction fails on its condition, then one succeeds.
    await expect(dynamo.send(new TransactWriteItemsCommand(conditional('FAILED', 'attribute_exists(pk)')))).rejects.toMatchObject({
      name: 'TransactionCanceledException',
    });
    await dynamo.send(new TransactWriteItemsCommand(conditional('WRITTEN', 'attribute_not_exists(pk)')));
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
    // Assess
    expect(page.Records!.map((r) => r.dynamodb!.NewImage!.sk!.S)).toEqual(['WRITTEN']);
  });

  it('runs a TransactWriteItems whose condition fails as a whole, and one that holds', async () => {
    // Prepare
    const dynamo = new DynamoDBClient(awsClientConfig(aws));
    await createStreamTable(dynamo, 'emulator-tx');
    const write = (version: number) =>
      dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName: 'emulator-tx',
                Item: { pk: { S: 'c' }, sk: { S: 'STATE' }, version: { N: String(version) } },
                ConditionExpression: 'attribute_not_exists(pk) OR version = :previous',
                ExpressionAttributeValues: { ':previous': { N: String(version - 1) } },
              },
            },
            { Put: { TableName: 'emulator-tx', Item: { pk: { S: 'c' }, sk: { S: `E#${version}` } } } },
          ],
        }),
      );
    // Act
    await write(1);
    const stale = write(1);
    // Assess
    await expect(stale).rejects.toMatchObject({ name: 'TransactionCanceledException' });
  });

  it('delivers an SNS message to a subscribed SQS queue, with attributes and a filter policy', async () => {
    // Prepare
    const sns = new SNSClient(awsClientConfig(aws));
    const sqs = new SQSClient(awsClientConfig(aws));
    const topic = await sns.send(new CreateTopicCommand({ Name: 'emulator-alerts' }));
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'emulator-pager' }));
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl!, AttributeNames: ['QueueArn'] }));
    await sns.send(
      new SubscribeCommand({
        TopicArn: topic.TopicArn!,
        Protocol: 'sqs',
        Endpoint: attrs.Attributes!.QueueArn!,
        Attributes: { FilterPolicy: JSON.stringify({ severity: ['critical'] }), RawMessageDelivery: 'true' },
      }),
    );
    const publish = (severity: string) =>
      sns.send(
        new PublishCommand({
          TopicArn: topic.TopicArn!,
          Subject: `${severity} alert`,
          Message: JSON.stringify({ severity }),
          MessageAttributes: { severity: { DataType: 'String', StringValue: severity } },
        }),
      );
    // Act
    await publish('info');
    await publish('critical');
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl!, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    // Assess: the filter policy let only the critical one through.
    expect(received.Messages?.map((m) => JSON.parse(m.Body!))).toEqual([{ severity: 'critical' }]);
  });

  it('delivers an SNS message to an HTTP endpoint on loopback', async () => {
    // Prepare
    const bodies: string[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        bodies.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const sns = new SNSClient(awsClientConfig(aws));
    const topic = await sns.send(new CreateTopicCommand({ Name: 'emulator-http' }));
    await sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn!, Protocol: 'http', Endpoint: `http://127.0.0.1:${port}/hook` }));
    // Act
    await sns.send(new PublishCommand({ TopicArn: topic.TopicArn!, Message: 'hello' }));
    // Assess
    const notification = bodies.map((b) => JSON.parse(b)).find((b) => b.Type === 'Notification');
    server.close();
    expect(notification?.Message).toBe('hello');
  });

  it('stores and returns a Secrets Manager secret', async () => {
    const secrets = new SecretsManagerClient(awsClientConfig(aws));
    await secrets.send(new CreateSecretCommand({ Name: 'vip-probe', SecretString: '{"password":"p"}' }));
    const value = await secrets.send(new GetSecretValueCommand({ SecretId: 'vip-probe' }));
    expect(JSON.parse(value.SecretString!)).toEqual({ password: 'p' });
  });

  it('takes 300 connections at once into its backlog while it serves one (werkzeug alone keeps 128)', async () => {
    // Prepare: idle connections; the serial server accepts the first and waits for its request, so every other one
    // stays in the listen backlog, and past the backlog the kernel drops the handshake (a storm's calls, one by one).
    const port = Number(new URL(aws.endpoint).port);
    const sockets: Socket[] = [];
    // Act
    const outcomes = await Promise.all(
      Array.from(
        { length: 300 },
        () =>
          new Promise<boolean>((resolve) => {
            const socket = connect({ host: '127.0.0.1', port });
            sockets.push(socket);
            const timer = setTimeout(() => resolve(false), 5_000);
            socket.once('connect', () => {
              clearTimeout(timer);
              resolve(true);
            });
            socket.once('error', () => resolve(false));
          }),
      ),
    );
    for (const socket of sockets) socket.destroy();
    // Assess: every handshake completed, and the emulator still answers.
    expect(outcomes.filter((connected) => !connected)).toHaveLength(0);
    const sqs = new SQSClient(awsClientConfig(aws));
    await expect(sqs.send(new CreateQueueCommand({ QueueName: 'after-the-burst' }))).resolves.toBeDefined();
  });

  it("serves a call on the poller's lane before the calls already waiting on its main port", async () => {
    // Prepare: the server held still while 40 calls wait on the main port, then one on the lane
    const finished: string[] = [];
    const call = (endpoint: string, name: string) =>
      fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(30_000) }).then(async (response) => {
        await response.text();
        finished.push(name);
      });
    process.kill(aws.pid, 'SIGSTOP');
    let calls: Promise<void>[];
    try {
      calls = Array.from({ length: 40 }, (_, i) => call(aws.endpoint, `main-${i}`));
      await new Promise((resolve) => setTimeout(resolve, 300));
      calls.push(call(aws.laneEndpoint, 'lane'));
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      process.kill(aws.pid, 'SIGCONT');
    }
    // Act
    await Promise.all(calls);
    // Assess: served first or second (one main call may already be accepted when the lane's arrives), not 41st
    expect(finished).toHaveLength(41);
    expect(finished.indexOf('lane')).toBeLessThan(2);
  });

  it("refuses to start when the poller's lane port is taken, naming the ports and the way out", async () => {
    // Prepare: something else listens on the lane's port
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const lanePort = (squatter.address() as { port: number }).port;
    try {
      // Act / Assess
      await expect(startLocalAws({ lanePort })).rejects.toThrow(
        new RegExp(`port \\d+ or ${lanePort} on 127\\.0\\.0\\.1 is in use; .*FAILOVER_LOCAL_AWS_PORT`),
      );
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('stops and frees its ports', async () => {
    // Prepare
    const second = await startLocalAws();
    const ports = [second.endpoint, second.laneEndpoint].map((endpoint) => Number(new URL(endpoint).port));
    // Act
    await second.stop();
    // Assess
    for (const port of ports) expect(await isPortFree(port)).toBe(true);
  });
});
