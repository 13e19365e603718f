import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { messageOf, NotAnEventError } from '../../domain/errors.js';
import { type ClusterEvent, EVENT_TYPES } from '../../domain/events.js';
import type { Log } from '../../domain/ports.js';
import { toEvent } from './DynamoEventStore.js';

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

/**
 * One stream batch, in order. A record that fails is reported for retry, and every later record of the same
 * cluster fails with it without being handled, so a cluster's alerts never overtake each other. Lambda
 * redelivers from the lowest failed sequence number; idempotent delivery makes the redelivered rest harmless.
 */
export async function processStreamBatch(
  records: DynamoDBRecord[],
  handle: (event: ClusterEvent) => Promise<void>,
  log: Log,
): Promise<BatchResult> {
  const blockedClusters = new Set<string>();
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  const recordHandler = async (record: DynamoDBRecord): Promise<void> => {
    let event: ClusterEvent;
    try {
      event = eventFromRecord(record);
    } catch (error) {
      if (error instanceof NotAnEventError) {
        log.warn('stream record skipped', { reason: error.message });
        return;
      }
      throw error;
    }
    if (blockedClusters.has(event.cluster)) throw new Error(`held back: an earlier event of ${event.cluster} failed in this batch`);
    try {
      await handle(event);
    } catch (error) {
      blockedClusters.add(event.cluster);
      log.error('event not handled; it will be retried', { id: event.id, type: event.type, error: messageOf(error) });
      throw error;
    }
  };
  return processPartialResponse({ Records: records }, recordHandler, processor, {
    processInParallel: false,
    throwOnFullBatchFailure: false,
  });
}
