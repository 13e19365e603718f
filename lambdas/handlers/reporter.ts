import { requiredEnv } from '../config/env.js';
import { pipelineConfig } from '../config/pipelineConfig.js';
import { previousMonth } from '../services/reporter/monthlyReport.js';
import { AwsClients } from '../wiring/clients.js';
import { composeReporter } from '../wiring/reporter.js';
import { lambdaHandler, powertools } from './powertools.js';

const tools = powertools('failover-reporter');
const { logger } = tools;
const report = composeReporter({
  clients: AwsClients.forLambda(),
  config: pipelineConfig(),
  tableName: requiredEnv('TABLE_NAME'),
  bucketName: requiredEnv('REPORT_BUCKET'),
  topicArn: requiredEnv('TOPIC_ARN'),
});

/** Scheduled on the 1st of each month; `{"month": "YYYY-MM"}` re-runs a given month. */
export const handler = lambdaHandler(tools, async (event: { month?: string } | null) => {
  const month = event?.month ?? previousMonth(Date.now());
  const result = await report(month);
  logger.info('monthly report written', { month, objects: result.objects.length });
  tools.metrics.addMetric('report_objects', 'Count', result.objects.length);
  return { month, objects: result.objects };
});
