import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context } from 'aws-lambda';
import type { Idempotent } from '../../notifier/Notifier.js';

/**
 * Powertools idempotency records in the event table itself (pk `IDEMPOTENCY`, sk the key's hash, the table's TTL
 * attribute), so a redelivered stream record never sends the same alert twice. Records carry no itemType,
 * so the stream filter never hands them to the notifier.
 */
export function dynamoIdempotency(tableName: string, client: DynamoDBClient): { run: Idempotent; registerContext(context: Context): void } {
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName,
    awsSdkV3Client: client,
    keyAttr: 'pk',
    sortKeyAttr: 'sk',
    staticPkValue: 'IDEMPOTENCY',
    expiryAttr: 'expiresAt',
  });
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds: 7 * 86_400 });
  const once = makeIdempotent(async (_data: { key: string }, fn: () => Promise<unknown>) => fn(), {
    persistenceStore,
    config,
    dataIndexArgument: 0,
  });
  return {
    run: <T>(key: string, fn: () => Promise<T>) => once({ key }, fn) as Promise<T>,
    registerContext: (context) => config.registerLambdaContext(context),
  };
}
