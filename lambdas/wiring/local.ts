import type { DynamoDBRecord } from 'aws-lambda';
import { ensureTable } from '../adapters/dynamodb/DynamoEventStore.js';
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
