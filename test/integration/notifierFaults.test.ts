import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEventStore, ensureTable } from '../../lambdas/adapters/dynamodb/DynamoEventStore.js';
import { dynamoIdempotency } from '../../lambdas/adapters/dynamodb/idempotency.js';
import { processStreamBatch } from '../../lambdas/adapters/dynamodb/streamBatch.js';
import { PgWriteProber } from '../../lambdas/adapters/postgres/PgWriteProber.js';
import { SnsAlerts } from '../../lambdas/adapters/sns/SnsAlerts.js';
import type { Alert } from '../../lambdas/domain/alerts.js';
import { detect } from '../../lambdas/domain/detector.js';
import type { ClusterEvent } from '../../lambdas/domain/events.js';
import type { VipTarget } from '../../lambdas/domain/ports.js';
import { Notifier } from '../../lambdas/services/notifier/Notifier.js';
import { runCanary } from '../../lambdas/services/prober/canary.js';
import { runProbe } from '../../lambdas/services/prober/probe.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { failed, healthy, observation, primary, replica, view } from '../support/factories.js';
import { NO_STORMS } from '../support/notifierFakes.js';

const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function streamRecord(event: ClusterEvent, sequence: number): DynamoDBRecord {
  const item = { ...event, pk: `CLUSTER#${event.cluster}`, sk: `EVENT#${event.id}`, itemType: 'event' };
  return {
    eventID: `e${sequence}`,
    eventName: 'INSERT',
    dynamodb: { SequenceNumber: String(sequence).padStart(21, '0'), NewImage: marshall(item, { removeUndefinedValues: true }) as never },
  };
}

/** A failover as the poller records it, for clusters `a` and `b`. */
function failoverEvents(cluster: string): ClusterEvent[] {
  const first = detect(null, { ...healthy(Date.UTC(2026, 10, 26), 'pg_node1', 3), cluster });
  const change = detect(first.state, {
    ...observation(
      Date.UTC(2026, 10, 26, 0, 0, 1),
      [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)],
      view('pg_node2', 4),
    ),
    cluster,
  });
  return change.events.filter((e) => e.type === 'member_unreachable' || e.type === 'leader_changed');
}

/** A VIP in front of `server`, which drops every connection it accepts: no write ever gets through. */
function droppingVip(server: Server): VipTarget {
  return {
    host: '127.0.0.1',
    port: (server.address() as { port: number }).port,
    database: 'postgres',
    user: 'probe',
    password: 'x',
    sslMode: 'disable',
  };
}

describe('Notifier faults (moto SNS/SQS/DynamoDB, real Powertools idempotency)', () => {
  let aws: LocalAws;
  let store: DynamoEventStore;
  let dynamo: DynamoDBClient;
  let sns: SNSClient;
  let sqs: SQSClient;
  let topicArn: string;
  let queueUrl: string;
  let tableCount = 0;

  beforeAll(async () => {
    aws = await startLocalAws();
    dynamo = new DynamoDBClient(awsClientConfig(aws));
    sns = new SNSClient(awsClientConfig(aws));
    sqs = new SQSClient(awsClientConfig(aws));
  });
  afterAll(async () => aws?.stop());

  async function freshSetup() {
    const table = `faults-${++tableCount}`;
    await ensureTable(dynamo, table);
    store = new DynamoEventStore({ tableName: table, client: dynamo });
    topicArn = (await sns.send(new CreateTopicCommand({ Name: `alerts-${tableCount}` }))).TopicArn!;
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `pager-${tableCount}` }))).QueueUrl!;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!
      .QueueArn!;
    await sns.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn, Attributes: { RawMessageDelivery: 'true' } }),
    );
    return table;
  }

  async function pagerMessages(): Promise<Alert[]> {
    const messages: Alert[] = [];
    for (let i = 0; i < 10; i++) {
      const page = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      if (!page.Messages?.length) break;
      messages.push(...page.Messages.map((m) => JSON.parse(m.Body!) as Alert));
    }
    return messages;
  }

  function notifierWith(table: string, publish: SnsAlerts['publish'], idempotency = dynamoIdempotency(table, dynamo, log)) {
    return new Notifier({
      store,
      channels: { sns: { publish, publishStorm: NO_STORMS } },
      idempotent: idempotency.run,
      probes: null,
      clock: Date.now,
      log,
    });
  }

  it('sends nothing twice when a stream batch is delivered twice', async () => {
    // Prepare
    const table = await freshSetup();
    const real = new SnsAlerts(topicArn, 'json', sns);
    const notifier = notifierWith(table, (alert, key) => real.publish(alert, key));
    const records = failoverEvents('a').map(streamRecord);
    // Act
    const first = await processStreamBatch(records, (e) => notifier.handle(e), log);
    const second = await processStreamBatch(records, (e) => notifier.handle(e), log);
    // Assess
    expect(first.batchItemFailures).toEqual([]);
    expect(second.batchItemFailures).toEqual([]);
    expect((await pagerMessages()).map((m) => m.type).sort()).toEqual(['leader_changed', 'member_unreachable']);
  });

  it('reports a record whose SNS publish fails for retry, holds back that cluster only, and delivers once on retry', async () => {
    // Prepare: SNS fails for the first alert of cluster a, as during an SNS outage.
    const table = await freshSetup();
    const real = new SnsAlerts(topicArn, 'json', sns);
    let outage = true;
    const notifier = notifierWith(table, async (alert, key) => {
      if (outage && alert.cluster === 'a') throw new Error('SNS unavailable');
      return real.publish(alert, key);
    });
    const [a1, a2] = failoverEvents('a');
    const [b1, b2] = failoverEvents('b');
    const records = [a1!, b1!, a2!, b2!].map(streamRecord);
    // Act
    const firstTry = await processStreamBatch(records, (e) => notifier.handle(e), log);
    outage = false;
    // Lambda redelivers from the lowest failed record.
    const retry = await processStreamBatch(records.slice(0), (e) => notifier.handle(e), log);
    // Assess
    expect(firstTry.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      records[0]!.dynamodb!.SequenceNumber,
      records[2]!.dynamodb!.SequenceNumber,
    ]);
    expect(retry.batchItemFailures).toEqual([]);
    const delivered = await pagerMessages();
    expect(delivered.map((m) => `${m.cluster}:${m.type}`).sort()).toEqual([
      'a:leader_changed',
      'a:member_unreachable',
      'b:leader_changed',
      'b:member_unreachable',
    ]);
  });

  /** Idempotency over a client whose UpdateItem (the completion of a record) fails while `failing` says so. */
  function idempotencyWithFailingCompletions(table: string, failing: (attempt: number) => boolean) {
    const flaky = new DynamoDBClient(awsClientConfig(aws));
    const completions = { attempts: 0 };
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateItemCommand' && failing(completions.attempts++)) throw new Error('the store has not answered');
        return next(args);
      },
      { step: 'initialize' },
    );
    const warnings: string[] = [];
    const idempotency = dynamoIdempotency(table, flaky, { ...log, warn: (message) => warnings.push(message) });
    // A short in-progress window, so that a redelivery could claim an uncompleted record again within the test.
    idempotency.registerContext({ getRemainingTimeInMillis: () => 200 });
    const real = new SnsAlerts(topicArn, 'json', sns);
    const notifier = notifierWith(table, (alert, key) => real.publish(alert, key), idempotency);
    return { notifier, warnings, completions };
  }

  it('sends an alert once when its idempotency record fails to complete after the publish, even redelivered past the in-progress window', async () => {
    // Prepare: the first completion fails, as an emulator queue or a throttled table can fail one.
    const table = await freshSetup();
    const { notifier, warnings, completions } = idempotencyWithFailingCompletions(table, (attempt) => attempt === 0);
    const records = failoverEvents('d').map(streamRecord);
    // Act: the batch, then the same batch again once the in-progress window has passed.
    const first = await processStreamBatch(records, (e) => notifier.handle(e), log);
    await sleep(400);
    const second = await processStreamBatch(records, (e) => notifier.handle(e), log);
    // Assess: the completion was tried again, so the redelivery found the record complete.
    expect(completions.attempts).toBeGreaterThan(2);
    expect(first.batchItemFailures).toEqual([]);
    expect(second.batchItemFailures).toEqual([]);
    expect((await pagerMessages()).map((m) => m.type).sort()).toEqual(['leader_changed', 'member_unreachable']);
    expect(warnings).toEqual([]);
  });

  it('keeps a sent alert sent when its idempotency record never completes, and warns', async () => {
    // Prepare: every completion fails.
    const table = await freshSetup();
    const { notifier, warnings } = idempotencyWithFailingCompletions(table, () => true);
    const records = failoverEvents('e').map(streamRecord);
    // Act
    const result = await processStreamBatch(records, (e) => notifier.handle(e), log);
    // Assess: not failed back for a retry that would send the alerts again.
    expect(result.batchItemFailures).toEqual([]);
    expect((await pagerMessages()).map((m) => m.type).sort()).toEqual(['leader_changed', 'member_unreachable']);
    // One warning for each of the two alerts.
    expect(warnings).toEqual([
      expect.stringContaining('idempotency record could not be completed'),
      expect.stringContaining('idempotency record could not be completed'),
    ]);
  });

  it('skips records that are not events or have an unknown type, and loses nothing else', async () => {
    const table = await freshSetup();
    const real = new SnsAlerts(topicArn, 'json', sns);
    const notifier = notifierWith(table, (alert, key) => real.publish(alert, key));
    const [event] = failoverEvents('c');
    const state: DynamoDBRecord = {
      eventID: 's',
      eventName: 'MODIFY',
      dynamodb: { SequenceNumber: '1', NewImage: marshall({ pk: 'CLUSTER#c', sk: 'STATE', itemType: 'state' }) as never },
    };
    const unknown = streamRecord({ ...event!, id: 'c:x', type: 'martian_landing' } as unknown as ClusterEvent, 2);
    const removal: DynamoDBRecord = { eventID: 'r', eventName: 'REMOVE', dynamodb: { SequenceNumber: '3' } };
    const result = await processStreamBatch([state, unknown, removal, streamRecord(event!, 4)], (e) => notifier.handle(e), log);
    expect(result.batchItemFailures).toEqual([]);
    expect((await pagerMessages()).map((m) => m.eventId)).toEqual([event!.id]);
  });

  describe('write probe against a VIP that refuses connections', () => {
    let blackhole: Server;
    beforeAll(async () => {
      blackhole = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => blackhole.close());

    it('records write_unavailable at the deadline, and the notifier sends it as a critical alert', async () => {
      // Prepare
      const table = await freshSetup();
      const [trigger] = failoverEvents('d');
      const vip = droppingVip(blackhole);
      // Act
      const verdict = await runProbe(
        trigger!,
        trigger!.id,
        vip,
        { store, prober: new PgWriteProber(), clock: Date.now, log },
        { deadlineMs: 2_000, intervalMs: 250 },
      );
      const real = new SnsAlerts(topicArn, 'json', sns);
      const notifier = notifierWith(table, (alert, key) => real.publish(alert, key));
      await processStreamBatch([streamRecord(verdict, 1)], (e) => notifier.handle(e), log);
      // Assess
      expect(verdict).toMatchObject({ type: 'write_unavailable', deadlineSeconds: 2 });
      expect(verdict.type === 'write_unavailable' && verdict.attempts).toBeGreaterThanOrEqual(4);
      expect((await store.listEvents('d')).events.map((e) => e.type)).toEqual(['write_unavailable']);
      expect(await pagerMessages()).toEqual([expect.objectContaining({ type: 'write_unavailable', severity: 'critical' })]);
    });

    it('notices a VIP that refuses writes while Patroni is healthy: the canary records it, the notifier alerts and starts the probe', async () => {
      // Prepare
      const table = await freshSetup();
      const vip = droppingVip(blackhole);
      const launched: string[] = [];
      const real = new SnsAlerts(topicArn, 'json', sns);
      const notifier = new Notifier({
        store,
        channels: { sns: { publish: (alert, key) => real.publish(alert, key), publishStorm: NO_STORMS } },
        idempotent: dynamoIdempotency(table, dynamo, log).run,
        probes: { launch: async (trigger) => void launched.push(trigger.type) },
        clock: Date.now,
        log,
      });
      // Act
      const { failed } = await runCanary([{ cluster: 'e', vip }], { prober: new PgWriteProber(), store, log });
      await processStreamBatch(failed.map(streamRecord), (e) => notifier.handle(e), log);
      // Assess
      expect((await store.listEvents('e')).events.map((e) => e.type)).toEqual(['canary_failed']);
      expect(await pagerMessages()).toEqual([expect.objectContaining({ type: 'canary_failed', severity: 'warning' })]);
      expect(launched).toEqual(['canary_failed']);
    });
  });
});
