import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import type { BatchResult } from '../lambdas/notifier/streamBatch.js';
import type { Log } from '../lambdas/poller/ClusterWatcher.js';

export interface StreamRunnerOptions {
  /** Records per handler call, as the event source mapping's batch size. @default 10 */
  readonly batchSize?: number;
  /** Pause between GetRecords calls on an idle shard. @default 200 */
  readonly pollMs?: number;
  /** Redeliveries of a failing record before it is set aside (the on-failure destination). @default 5 */
  readonly maxRetries?: number;
  /** First backoff between redeliveries, doubled each time. @default 500 */
  readonly retryDelayMs?: number;
}

/**
 * Local stand-in for Lambda's DynamoDB-stream event source mapping: reads the table's stream from the emulator,
 * keeps only event items (the mapping's filter), hands batches to the same handler, and redelivers from the
 * lowest failed record, as Lambda does with reported batch item failures.
 */
export class LocalStreamRunner {
  private stopped = false;
  private running: Promise<void> | null = null;
  /** Records given up on after maxRetries, as Lambda would send them to the on-failure destination. */
  readonly setAside: DynamoDBRecord[] = [];

  constructor(
    private readonly streams: DynamoDBStreamsClient,
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
    private readonly handleBatch: (records: DynamoDBRecord[]) => Promise<BatchResult>,
    private readonly log: Log,
    private readonly options: StreamRunnerOptions = {},
  ) {}

  /** Starts reading from the stream's present end (LATEST), like a new event source mapping. */
  async start(position: 'LATEST' | 'TRIM_HORIZON' = 'LATEST'): Promise<void> {
    const table = await this.dynamo.send(new DescribeTableCommand({ TableName: this.tableName }));
    const streamArn = table.Table?.LatestStreamArn;
    if (!streamArn) throw new Error(`table ${this.tableName} has no stream: it must be created with StreamSpecification`);
    const stream = await this.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const shards = stream.StreamDescription?.Shards ?? [];
    this.running = Promise.all(shards.map((shard) => this.readShard(streamArn, shard.ShardId!, position))).then(() => undefined);
  }

  /** Stops after the batch in hand; waits for the readers to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async readShard(streamArn: string, shardId: string, position: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    const first = await this.streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: position }));
    let iterator = first.ShardIterator;
    while (!this.stopped && iterator) {
      const page = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
      iterator = page.NextShardIterator;
      const events = (page.Records ?? []).filter(isEventRecord).map((r) => r as unknown as DynamoDBRecord);
      await this.deliver(events);
      if ((page.Records ?? []).length === 0) await sleep(this.options.pollMs ?? 200);
    }
  }

  /** Hands records over in batches; on a failure, redelivers from the lowest failed record with backoff. */
  private async deliver(records: DynamoDBRecord[]): Promise<void> {
    const batchSize = this.options.batchSize ?? 10;
    const maxRetries = this.options.maxRetries ?? 5;
    let pending = records;
    let retries = 0;
    while (pending.length > 0) {
      const batch = pending.slice(0, batchSize);
      const result = await this.handleBatch(batch);
      const failedIds = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
      const firstFailed = batch.findIndex((r) => failedIds.has(r.dynamodb?.SequenceNumber ?? ''));
      if (firstFailed < 0) {
        pending = pending.slice(batch.length);
        retries = 0;
        continue;
      }
      if (retries >= maxRetries) {
        this.log.error('stream record set aside after retries', { sequenceNumber: batch[firstFailed]!.dynamodb?.SequenceNumber, retries });
        this.setAside.push(batch[firstFailed]!);
        pending = pending.slice(firstFailed + 1);
        retries = 0;
        continue;
      }
      retries++;
      pending = pending.slice(firstFailed);
      await sleep((this.options.retryDelayMs ?? 500) * 2 ** (retries - 1));
      if (this.stopped) return;
    }
  }
}

/** The event source mapping's filter: only event items, never state, notifier or idempotency items. */
function isEventRecord(record: _Record): boolean {
  return record.dynamodb?.NewImage?.itemType?.S === 'event';
}
