import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { requiredEnv } from '../config/env.js';
import { pipelineConfig } from '../config/pipelineConfig.js';
import { AwsClients } from '../wiring/clients.js';
import { composeNotifier, lambdaProbeLauncher, type NotifierPipeline, pagerDutyFromConfig, slackFromSecret } from '../wiring/notifier.js';
import { lambdaHandler, powertools } from './powertools.js';

const tools = powertools('failover-notifier');
const { logger, metrics } = tools;

const config = pipelineConfig();
const tableName = requiredEnv('TABLE_NAME');
const topicArn = requiredEnv('TOPIC_ARN');
const clients = AwsClients.forLambda();
const slackSecret = process.env.SLACK_SECRET_ARN;
const proberFunction = process.env.PROBER_FUNCTION_NAME;
let pipeline: Promise<NotifierPipeline> | undefined;

/** Built on first use: the Slack secret is read at run time (never from the environment) and cached. */
async function notifierPipeline(): Promise<NotifierPipeline> {
  return composeNotifier(config, {
    clients,
    store: clients.eventStore(tableName, config.store.retentionDays),
    tableName,
    topicArn,
    slack: slackSecret ? await slackFromSecret(slackSecret) : undefined,
    pagerduty: await pagerDutyFromConfig(config),
    probes: proberFunction ? lambdaProbeLauncher(proberFunction, clients) : null,
    log: logger,
    onAlert: (alert) => metrics.addMetric(`alert_${alert.severity}`, 'Count', 1),
  });
}

/** DynamoDB stream batch in, partial batch failures out (the event source mapping reports them). */
export const handler = lambdaHandler(tools, async (event: DynamoDBStreamEvent, context: Context) => {
  pipeline ??= notifierPipeline();
  const notifier = await pipeline;
  notifier.registerContext(context);
  return notifier.handleBatch(event.Records);
});
