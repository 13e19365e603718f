import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../lab/processes.js';
import { DynamoEventStore, ensureTable } from '../../lambdas/adapters/dynamodb/DynamoEventStore.js';
import { LocalStreamRunner } from '../../lambdas/adapters/dynamodb/LocalStreamRunner.js';
import { detect } from '../../lambdas/domain/detector.js';
import type { ClusterEvent } from '../../lambdas/domain/events.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { failed, healthy, observation, primary, replica, view } from '../support/factories.js';
import { capturedLog } from '../support/logCapture.js';
import { CuttableProxy } from '../support/tcpProxy.js';

const TABLE = 'stream-runner-events';

/** Distinct events of one cluster, as the poller would record them. */
function events(count: number): ClusterEvent[] {
  let state = detect(null, healthy(1_000, 'pg_node1', 3)).state;
  const out: ClusterEvent[] = [];
  for (let i = 0; i < count; i++) {
    const t = 2_000 + i * 1_000;
    const down = detect(state, observation(t, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4)));
    out.push(down.events.find((e) => e.type === 'member_unreachable')!);
    state = detect(down.state, healthy(t + 500, 'pg_node1', 3)).state;
  }
  return out.map((e, i) => ({ ...e, id: `${e.id}-${i}` }));
}

describe('LocalStreamRunner (the event source mapping of local mode) against moto', () => {
  let aws: LocalAws;
  let store: DynamoEventStore;
  const delivered: string[] = [];
  const batches: string[][] = [];
  const handler = async (records: DynamoDBRecord[]) => {
    batches.push(records.map((r) => r.dynamodb!.NewImage!.id!.S!));
    delivered.push(...batches.at(-1)!);
    return { batchItemFailures: [] };
  };
  const runner = (clientConfig: ReturnType<typeof awsClientConfig>) =>
    new LocalStreamRunner(
      new DynamoDBStreamsClient(clientConfig),
      new DynamoDBClient(clientConfig),
      TABLE,
      handler,
      capturedLog('stream-runner'),
      { pollMs: 100 },
    );

  beforeAll(async () => {
    aws = await startLocalAws();
    const dynamo = new DynamoDBClient(awsClientConfig(aws));
    await ensureTable(dynamo, TABLE);
    store = new DynamoEventStore({ tableName: TABLE, retentionDays: 1, client: dynamo });
  });

  afterAll(() => aws?.stop());

  it('resumes after the last record it delivered: events recorded while it was stopped arrive once, none twice', async () => {
    // Prepare
    const [first, second] = events(2);
    const one = runner(awsClientConfig(aws));
    await one.start('LATEST');
    await store.recordEvent(first!);
    await waitFor('the first event', 15_000, 100, () => (delivered.includes(first!.id) ? true : undefined));
    await one.stop();
    // Act: an event while no reader runs, then a new reader.
    await store.recordEvent(second!);
    const two = runner(awsClientConfig(aws));
    await two.start('LATEST');
    await waitFor('the second event', 15_000, 100, () => (delivered.includes(second!.id) ? true : undefined));
    await sleep(500);
    await two.stop();
    // Assess
    expect(delivered.filter((id) => id === first!.id)).toHaveLength(1);
    expect(delivered.filter((id) => id === second!.id)).toHaveLength(1);
  });

  it('hands over a backlog of 150 events in one batch, as the event source mapping fills its batch', async () => {
    // Prepare: a reader that has delivered once (so the next one resumes after it), then a backlog while none runs.
    const [marker, ...backlog] = events(151).map((e) => ({ ...e, id: `${e.id}-backlog` }));
    const one = runner(awsClientConfig(aws));
    await one.start('LATEST');
    await store.recordEvent(marker!);
    await waitFor('the marker event', 15_000, 100, () => (delivered.includes(marker!.id) ? true : undefined));
    await one.stop();
    for (const event of backlog) await store.recordEvent(event);
    // Act
    const two = runner(awsClientConfig(aws));
    await two.start('LATEST');
    await waitFor('the backlog', 20_000, 100, () => (backlog.every((e) => delivered.includes(e.id)) ? true : undefined));
    await two.stop();
    // Assess: one handler call, not one per 100 stream records.
    const withBacklog = batches.filter((batch) => batch.some((id) => id.endsWith('-backlog') && id !== marker!.id));
    expect(withBacklog).toHaveLength(1);
    expect(withBacklog[0]).toEqual(backlog.map((e) => e.id));
  });

  it('keeps reading when the emulator is unreachable for a while, and delivers what was recorded meanwhile', async () => {
    // Prepare: the reader talks to the emulator through a proxy the test cuts.
    const proxy = new CuttableProxy(Number(new URL(aws.endpoint).port));
    const endpoint = await proxy.start();
    const reader = runner({ ...awsClientConfig(aws), endpoint });
    await reader.start('LATEST');
    const [, , third] = events(3);
    // Act
    proxy.cut();
    await store.recordEvent(third!);
    await sleep(3_000);
    proxy.restore();
    // Assess
    await waitFor('the event recorded during the outage', 20_000, 100, () => (delivered.includes(third!.id) ? true : undefined));
    await reader.stop();
    await proxy.stop();
    expect(delivered.filter((id) => id === third!.id)).toHaveLength(1);
  });
});
