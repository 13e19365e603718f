import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import type { Idempotent } from '../../domain/ports.js';
import { TABLE_SCHEMA, tableKeys } from './tableSchema.js';

/**
 * Powertools idempotency records in the event table itself (pk `IDEMPOTENCY`, sk the key's hash, the table's TTL
 * attribute), so a redelivered stream record never sends the same alert twice. Records carry no itemType,
 * so the stream filter never hands them to the notifier.
 */
export interface IdempotencyRecords {
  readonly run: Idempotent;
  /** Powertools sets an in-progress record's expiry from the time the invocation has left, and reads nothing else. */
  registerContext(context: Pick<Context, 'getRemainingTimeInMillis'>): void;
}

export function dynamoIdempotency(tableName: string, client: DynamoDBClient): IdempotencyRecords {
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName,
    awsSdkV3Client: client,
    keyAttr: TABLE_SCHEMA.partitionKey,
    sortKeyAttr: TABLE_SCHEMA.sortKey,
    staticPkValue: tableKeys.idempotency,
    expiryAttr: TABLE_SCHEMA.ttlAttribute,
  });
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds: 7 * 86_400 });
  const once = makeIdempotent(async (_data: { key: string }, fn: () => Promise<unknown>) => fn(), {
    persistenceStore,
    config,
    dataIndexArgument: 0,
  });
  return {
    run: <T>(key: string, fn: () => Promise<T>) => once({ key }, fn) as Promise<T>,
    registerContext: (context) => config.registerLambdaContext(context as Context),
  };
}
