import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { messageOf, NotAnEventError } from '../../domain/errors.js';
import { type ClusterEvent, EVENT_TYPES } from '../../domain/events.js';
import type { Log } from '../../domain/ports.js';
import { toEvent } from './DynamoEventStore.js';
import { STREAM_DELIVERY } from './streamDelivery.js';

export interface BatchResult {
  readonly batchItemFailures: { itemIdentifier: string }[];
}

/** Reads the event in a stream record's new image; throws NotAnEventError for anything else. */
export function eventFromRecord(record: DynamoDBRecord): ClusterEvent {
  const image = record.dynamodb?.NewImage;
  if (!image) throw new NotAnEventError(`record ${record.eventID ?? '?'} has no new image (${record.eventName ?? 'unknown'} event)`);
  const item = unmarshall(image as Record<string, AttributeValue>);
  if (item.itemType !== 'event')
    throw new NotAnEventError(`record ${record.eventID ?? '?'} is a ${String(item.itemType ?? 'untyped')} item, not an event`);
  const event = toEvent(item);
  if (typeof event.id !== 'string' || typeof event.cluster !== 'string' || typeof event.observedAt !== 'number') {
    throw new NotAnEventError(`record ${record.eventID ?? '?'} lacks id, cluster or observedAt`);
  }
  if (!EVENT_TYPES.includes(event.type))
    throw new NotAnEventError(`record ${record.eventID ?? '?'} has unknown event type "${String(event.type)}"`);
  return event;
}

/** Clusters handled at once within a batch: their events are independent, and a storm brings many. */
export const DEFAULT_LANES = STREAM_DELIVERY.lanes;

/**
 * One stream batch: each cluster's records in order, one after another (a lane per cluster), and up to `lanes`
 * clusters at once, so a storm's clusters do not wait for each other. A record that fails is reported for retry,
 * and every later record of the same cluster fails with it without being handled, so a cluster's alerts never
 * overtake each other. Lambda redelivers from the lowest failed sequence number; idempotent delivery makes the
 * redelivered rest harmless.
 */
export async function processStreamBatch(
  records: DynamoDBRecord[],
  handle: (event: ClusterEvent) => Promise<void>,
  log: Log,
  lanes = DEFAULT_LANES,
): Promise<BatchResult> {
  const failed = new Set<DynamoDBRecord>();
  const byCluster = new Map<string, { record: DynamoDBRecord; event: ClusterEvent }[]>();
  for (const record of records) {
    const event = readEvent(record, log, failed);
    if (!event) continue;
    const lane = byCluster.get(event.cluster) ?? [];
    lane.push({ record, event });
    byCluster.set(event.cluster, lane);
  }
  const runLane = async (lane: { record: DynamoDBRecord; event: ClusterEvent }[]): Promise<void> => {
    for (const [i, { event }] of lane.entries()) {
      try {
        await handle(event);
      } catch (error) {
        log.error('event not handled; it will be retried', {
          id: event.id,
          type: event.type,
          error: messageOf(error),
          heldBack: lane.length - i - 1,
        });
        for (const held of lane.slice(i)) failed.add(held.record);
        return;
      }
    }
  };
  await inPool([...byCluster.values()], lanes, runLane);
  const inBatchOrder = records.filter((r) => failed.has(r));
  return { batchItemFailures: inBatchOrder.map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' })) };
}

/** The record's event; none for a record that is not an event (skipped) or cannot be read (failed, for retry). */
function readEvent(record: DynamoDBRecord, log: Log, failed: Set<DynamoDBRecord>): ClusterEvent | null {
  try {
    return eventFromRecord(record);
  } catch (error) {
    if (error instanceof NotAnEventError) log.warn('stream record skipped', { reason: error.message });
    else {
      log.error('stream record unreadable; it will be retried', { error: messageOf(error) });
      failed.add(record);
    }
    return null;
  }
}

/** Runs `work` on every item, at most `size` at a time. */
async function inPool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}
