import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AWS_CALL_TIMEOUTS } from '../adapters/awsClients.js';
import { DynamoEventStore } from '../adapters/dynamodb/EventStore.js';
import { dynamoIdempotency } from '../adapters/dynamodb/idempotency.js';
import { LambdaProbeLauncher } from '../adapters/lambda/LambdaProbeLauncher.js';
import { SlackAlerts } from '../adapters/slack/SlackAlerts.js';
import { slackTargetFromSecret } from '../adapters/slack/slackSecret.js';
import { SnsAlerts } from '../adapters/sns/SnsAlerts.js';
import { Notifier } from '../notifier/Notifier.js';
import { processStreamBatch } from '../notifier/streamBatch.js';
import { requiredEnv } from '../shared/env.js';
import { pipelineConfig } from '../shared/pipelineConfig.js';
import { powertools } from '../shared/powertools.js';

const { logger, metrics } = powertools('failover-notifier');

const config = pipelineConfig();
const tableName = requiredEnv('TABLE_NAME');
const dynamo = new DynamoDBClient({ ...AWS_CALL_TIMEOUTS });
const store = new DynamoEventStore({ tableName, retentionDays: config.store.retentionDays, client: dynamo });
const idempotency = dynamoIdempotency(tableName, dynamo);
const slackSecret = process.env.SLACK_SECRET_ARN;
const proberFunction = process.env.PROBER_FUNCTION_NAME;
let notifier: Notifier | undefined;

/** Built on first use: the Slack secret is read at run time (never from the environment) and cached. */
async function notifierInstance(): Promise<Notifier> {
  notifier ??= new Notifier({
    store,
    channels: {
      sns: new SnsAlerts(requiredEnv('TOPIC_ARN'), config.notify.snsFormat),
      slack: slackSecret ? new SlackAlerts(await slackTargetFromSecret(slackSecret)) : undefined,
    },
    idempotent: idempotency.run,
    probes: proberFunction ? new LambdaProbeLauncher(proberFunction) : null,
    clock: Date.now,
    log: logger,
    onAlert: (alert) => metrics.addMetric(`alert_${alert.severity}`, 'Count', 1),
  });
  return notifier;
}

/** DynamoDB stream batch in, partial batch failures out (the event source mapping reports them). */
export async function handler(event: DynamoDBStreamEvent, context: Context) {
  idempotency.registerContext(context);
  const result = await processStreamBatch(event.Records, async (e) => (await notifierInstance()).handle(e), logger);
  metrics.publishStoredMetrics();
  return result;
}
