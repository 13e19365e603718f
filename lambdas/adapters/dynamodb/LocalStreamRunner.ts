import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand, type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { messageOf, StoreError } from '../../domain/errors.js';
import type { Log } from '../../domain/ports.js';
import { errorFields } from '../errorFields.js';
import type { BatchResult } from './streamBatch.js';
import { STREAM_DELIVERY } from './streamDelivery.js';

export interface StreamRunnerOptions {
  /** Records per handler call, as the event source mapping's batch size. @default STREAM_DELIVERY.batchSize */
  readonly batchSize?: number;
  /** Pause between GetRecords calls on an idle shard. @default 200 */
  readonly pollMs?: number;
  /** Redeliveries of a failing record before it is set aside (the on-failure destination), as the mapping's retryAttempts. @default 10 */
  readonly maxRetries?: number;
  /** First backoff between redeliveries, doubled each time up to maxRetryDelayMs: 10 retries span about 4 minutes. @default 500 */
  readonly retryDelayMs?: number;
  /** @default 60000 */
  readonly maxRetryDelayMs?: number;
}

/** A table's stream as found: its ARN, and each shard with where this reader last stopped in it. */
interface StreamLayout {
  readonly streamArn: string;
  readonly shards: readonly { readonly id: string; readonly checkpoint: string | undefined }[];
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

  /**
   * Starts reading each shard after the last record a previous run delivered (its checkpoint in the table), as an
   * event source mapping resumes; a shard never read before starts at `position` (LATEST: like a new mapping).
   */
  async start(position: 'LATEST' | 'TRIM_HORIZON' = 'LATEST'): Promise<void> {
    const first = await this.discover();
    this.running = this.follow(first, position);
  }

  /** The table's current stream, its shards and their checkpoints. */
  private async discover(): Promise<StreamLayout> {
    const table = await this.dynamo.send(new DescribeTableCommand({ TableName: this.tableName }));
    const streamArn = table.Table?.LatestStreamArn;
    if (!streamArn) throw new StoreError(`table ${this.tableName} has no stream: it must be created with StreamSpecification`);
    const stream = await this.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const ids = (stream.StreamDescription?.Shards ?? []).map((shard) => shard.ShardId!);
    const checkpoints = await Promise.all(ids.map((id) => this.loadCheckpoint(streamArn, id)));
    return { streamArn, shards: ids.map((id, i) => ({ id, checkpoint: checkpoints[i] })) };
  }

  /**
   * Reads every shard; when they all end (a shard closed, or the stream went away because the table was created
   * again), finds the table's stream anew and goes on from its start, as the event source mapping follows shards.
   */
  private async follow(found: StreamLayout, position: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    let current = found;
    let startAt = position;
    while (!this.stopped) {
      await Promise.all(current.shards.map((shard) => this.readShard(current.streamArn, shard.id, startAt, shard.checkpoint)));
      startAt = 'TRIM_HORIZON';
      for (let failures = 1; !this.stopped; failures++) {
        await sleep(Math.min(5_000, 200 * 2 ** Math.min(failures, 5)));
        const next = await this.discover().catch((error: unknown) => {
          this.log.warn("finding the table's stream failed; retrying", { table: this.tableName, failures, error: messageOf(error) });
          return null;
        });
        if (next) {
          if (next.streamArn !== current.streamArn) this.log.warn("following the table's new stream", { table: this.tableName });
          current = next;
          break;
        }
      }
    }
  }

  private checkpointKey(streamArn: string, shardId: string) {
    return { pk: { S: `LOCALSTREAM#${streamArn}` }, sk: { S: shardId } };
  }

  private async loadCheckpoint(streamArn: string, shardId: string): Promise<string | undefined> {
    const item = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.checkpointKey(streamArn, shardId), ConsistentRead: true }),
    );
    return item.Item?.sequenceNumber?.S;
  }

  /** At least once: a checkpoint that fails to save only means some records are delivered again (idempotently). */
  private async saveCheckpoint(streamArn: string, shardId: string, sequenceNumber: string): Promise<void> {
    await this.dynamo
      .send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...this.checkpointKey(streamArn, shardId), itemType: { S: 'stream_checkpoint' }, sequenceNumber: { S: sequenceNumber } },
        }),
      )
      .catch((error: unknown) => this.log.warn('saving the stream checkpoint failed', { shardId, error: messageOf(error) }));
  }

  /** Stops after the batch in hand; waits for the readers to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /**
   * Reads one shard until stopped. A failed read (the emulator unreachable, an expired iterator) is logged and
   * retried from the last record handed over, with backoff up to 5 s: the reader never dies while the pipeline runs.
   */
  private async readShard(
    streamArn: string,
    shardId: string,
    position: 'LATEST' | 'TRIM_HORIZON',
    checkpoint: string | undefined,
  ): Promise<void> {
    let lastSequenceNumber = checkpoint;
    let iterator: string | undefined;
    let failures = 0;
    while (!this.stopped) {
      try {
        iterator ??= (
          await this.streams.send(
            new GetShardIteratorCommand(
              lastSequenceNumber
                ? { StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: lastSequenceNumber }
                : { StreamArn: streamArn, ShardId: shardId, ShardIteratorType: position },
            ),
          )
        ).ShardIterator;
        if (!iterator) return; // the shard is closed
        const page = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_LIMIT }));
        iterator = page.NextShardIterator;
        failures = 0;
        const records = page.Records ?? [];
        const complete = await this.deliver(records.filter(isEventRecord).map((r) => r as unknown as DynamoDBRecord));
        if (!complete) return; // stopped mid-page: the checkpoint stays before it, so the next run delivers it
        const last = records.at(-1)?.dynamodb?.SequenceNumber;
        // Only records with events move the checkpoint: saving it writes an item, which is a stream record too.
        if (last && records.some(isEventRecord)) await this.saveCheckpoint(streamArn, shardId, last);
        lastSequenceNumber = last ?? lastSequenceNumber;
        if (records.length === 0) await sleep(this.options.pollMs ?? 200);
      } catch (error) {
        // The stream itself is gone (the table was deleted and created again): the caller finds the new one.
        if (errorFields(error).name === 'ResourceNotFoundException') return;
        failures++;
        iterator = undefined;
        this.log.warn('reading the stream failed; retrying', { shardId, failures, error: messageOf(error) });
        await sleep(Math.min(5_000, 200 * 2 ** Math.min(failures, 5)));
      }
    }
  }

  /**
   * Hands records over in batches; on a failure, redelivers from the lowest failed record with backoff. False
   * when stopped before every record was handed over (or set aside).
   */
  private async deliver(records: DynamoDBRecord[]): Promise<boolean> {
    const batchSize = this.options.batchSize ?? STREAM_DELIVERY.batchSize;
    const maxRetries = this.options.maxRetries ?? 10;
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
      await sleep(Math.min(this.options.maxRetryDelayMs ?? 60_000, (this.options.retryDelayMs ?? 500) * 2 ** (retries - 1)));
      if (this.stopped) return false;
    }
    return true;
  }
}

/**
 * DynamoDB Streams' largest page. Most of a busy table's stream records are not events (the poller's state, the
 * notifier's state and idempotency records, this reader's checkpoints), so a page of 100 held the events of about
 * ten clusters, and a storm's notifications went out ten clusters a page, one page after another; the event source
 * mapping on AWS fills its batch from as many reads as it needs.
 */
const GET_RECORDS_LIMIT = 1_000;

/** The event source mapping's filter: only event items, never state, notifier or idempotency items. */
function isEventRecord(record: _Record): boolean {
  return record.dynamodb?.NewImage?.itemType?.S === 'event';
}
