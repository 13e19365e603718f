import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { AWS_CALL_TIMEOUTS } from '../adapters/awsClients.js';
import { DynamoEventStore } from '../adapters/dynamodb/EventStore.js';
import { ReportBucket } from '../adapters/s3/ReportBucket.js';
import { previousMonth, writeMonthlyReport } from '../reporter/monthlyReport.js';
import { requiredEnv } from '../shared/env.js';
import { powertools } from '../shared/powertools.js';

const { logger } = powertools('failover-reporter');
const store = new DynamoEventStore({ tableName: requiredEnv('TABLE_NAME'), client: new DynamoDBClient({ ...AWS_CALL_TIMEOUTS }) });
const bucket = new ReportBucket(requiredEnv('REPORT_BUCKET'));
const sns = new SNSClient({ ...AWS_CALL_TIMEOUTS });
const topicArn = requiredEnv('TOPIC_ARN');
const sloPercent = Number(process.env.SLO_PERCENT ?? '99.95');

/** Scheduled on the 1st of each month; `{"month": "YYYY-MM"}` re-runs a given month. */
export async function handler(event: { month?: string } = {}) {
  const month = event.month ?? previousMonth(Date.now());
  const result = await writeMonthlyReport(month, sloPercent, {
    store,
    bucket,
    publish: async (subject, message) => {
      await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message, MessageAttributes: { type: { DataType: 'String', StringValue: 'monthly_report' }, severity: { DataType: 'String', StringValue: 'info' } } }));
    },
  });
  logger.info('monthly report written', { month, objects: result.objects.length });
  return { month, objects: result.objects };
}
