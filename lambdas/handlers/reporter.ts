import { requiredEnv } from '../config/env.js';
import { previousMonth } from '../services/reporter/monthlyReport.js';
import { AwsClients } from '../wiring/clients.js';
import { composeReporter } from '../wiring/reporter.js';
import { powertools } from './powertools.js';

const { logger } = powertools('failover-reporter');
const report = composeReporter({
  clients: AwsClients.forLambda(),
  tableName: requiredEnv('TABLE_NAME'),
  bucketName: requiredEnv('REPORT_BUCKET'),
  topicArn: requiredEnv('TOPIC_ARN'),
});
const sloPercent = Number(process.env.SLO_PERCENT ?? '99.95');

/** Scheduled on the 1st of each month; `{"month": "YYYY-MM"}` re-runs a given month. */
export async function handler(event: { month?: string } = {}) {
  const month = event.month ?? previousMonth(Date.now());
  const result = await report(month, sloPercent);
  logger.info('monthly report written', { month, objects: result.objects.length });
  return { month, objects: result.objects };
}
