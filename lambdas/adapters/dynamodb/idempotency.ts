import { setTimeout as sleep } from 'node:timers/promises';
import { IdempotencyConfig, IdempotencyPersistenceLayerError, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { messageOf } from '../../domain/errors.js';
import type { Idempotent, Log } from '../../domain/ports.js';
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

export function dynamoIdempotency(tableName: string, client: DynamoDBClient, log: Log): IdempotencyRecords {
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
    run: <T>(key: string, fn: () => Promise<T>) =>
      onceSettled(key, fn, {
        once: once as Once,
        complete: (k, result) => persistenceStore.saveSuccess({ key: k }, result as StoredResult),
        log,
      }),
    registerContext: (context) => config.registerLambdaContext(context as Context),
  };
}

/** What Powertools stores as a record's result: the work's own, which the once-functions keep to JSON. */
type StoredResult = Parameters<DynamoDBPersistenceLayer['saveSuccess']>[1];

type Once = (data: { key: string }, fn: () => Promise<unknown>) => Promise<unknown>;

interface SettledDeps {
  readonly once: Once;
  /** Marks the record under `key` completed with `result` (Powertools' own completion write). */
  readonly complete: (key: string, result: unknown) => Promise<void>;
  readonly log: Log;
}

/** Pauses before each further try of a completion write: the store that failed it is often only slow for a moment. */
const COMPLETION_RETRY_PAUSES_MS = [100, 1_000];

/**
 * The work under `key`, once. When the work ran and only its record's completion failed (the store timed out or
 * throttled), that is not the work's failure: thrown, the stream record would be retried, and once the record's
 * in-progress window passed the retry would send the alert again. The completion is tried again; if it never
 * sticks, the result stands and the warning says what a later redelivery of the same record could still do.
 */
async function onceSettled<T>(key: string, fn: () => Promise<T>, deps: SettledDeps): Promise<T> {
  const ran: { result?: T; done: boolean } = { done: false };
  try {
    return (await deps.once({ key }, async () => {
      ran.result = await fn();
      ran.done = true;
      return ran.result;
    })) as T;
  } catch (error) {
    if (!ran.done || !(error instanceof IdempotencyPersistenceLayerError)) throw error;
    await completeOrWarn(key, ran.result, deps, error.cause ?? error);
    return ran.result as T;
  }
}

async function completeOrWarn(key: string, result: unknown, deps: SettledDeps, firstFailure: unknown): Promise<void> {
  let failure = firstFailure;
  for (const pause of COMPLETION_RETRY_PAUSES_MS) {
    await sleep(pause);
    try {
      return await deps.complete(key, result);
    } catch (error) {
      failure = error;
    }
  }
  deps.log.warn('done, but its idempotency record could not be completed: a redelivery after its in-progress window could do it again', {
    key,
    error: messageOf(failure),
  });
}
