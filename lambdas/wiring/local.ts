import type { DynamoDBRecord } from 'aws-lambda';
import { type DynamoEventStore, ensureTable } from '../adapters/dynamodb/DynamoEventStore.js';
import { LocalStreamRunner, type StreamRunnerOptions } from '../adapters/dynamodb/LocalStreamRunner.js';
import type { BatchResult } from '../adapters/dynamodb/streamBatch.js';
import { ensureTopic } from '../adapters/sns/SnsAlerts.js';
import type { Log } from '../domain/ports.js';
import type { AwsClients } from './clients.js';

/** The topic local mode publishes alerts to, as the stack's `Alerts` topic on AWS. */
export const LOCAL_TOPIC_NAME = 'failover-alerts';

/**
 * What the CDK stack creates on AWS, created on the emulator (or an account without the stack) instead: the
 * table with its stream, and the alert topic. Says whether the table was new.
 */
export async function ensureLocalResources(clients: AwsClients, tableName: string): Promise<{ topicArn: string; createdTable: boolean }> {
  const createdTable = await ensureTable(clients.dynamo, tableName);
  const topicArn = await ensureTopic(clients.sns, LOCAL_TOPIC_NAME);
  return { topicArn, createdTable };
}

/**
 * The audit trail of local mode: an emulator that restarts loses its tables, so a missing table is created again
 * (and said so) instead of failing every later poll. On AWS the table is the stack's, and a missing one is an error.
 */
export function localEventStore(clients: AwsClients, tableName: string, retentionDays: number, log: Log): DynamoEventStore {
  return clients.eventStore(tableName, retentionDays, async () => {
    await ensureTable(clients.dynamo, tableName);
    log.warn(`table ${tableName} was gone (did the AWS emulator restart?): created it again; what was seen meanwhile is recorded now`);
  });
}

/** Local mode's stand-in for the notifier's event source mapping. */
export function localStreamRunner(
  clients: AwsClients,
  tableName: string,
  handleBatch: (records: DynamoDBRecord[]) => Promise<BatchResult>,
  log: Log,
  options?: StreamRunnerOptions,
): LocalStreamRunner {
  return new LocalStreamRunner(clients.streams, clients.dynamo, tableName, handleBatch, log, options);
}
