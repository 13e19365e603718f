import { ReportBucket } from '../adapters/s3/ReportBucket.js';
import { snsSummaryPublisher } from '../adapters/sns/SnsAlerts.js';
import { type PipelineConfig, sloPolicy } from '../config/config.js';
import { type MonthlyReportResult, writeMonthlyReport } from '../services/reporter/monthlyReport.js';
import type { AwsClients } from './clients.js';

export interface ReporterDeps {
  readonly clients: AwsClients;
  readonly config: PipelineConfig;
  readonly tableName: string;
  readonly bucketName: string;
  readonly topicArn: string;
  readonly clock?: () => number;
}

/** The monthly report of the reporter Lambda: the audit trail in, reports to the bucket, a summary to the topic. */
export function composeReporter(deps: ReporterDeps): (month: string) => Promise<MonthlyReportResult> {
  const store = deps.clients.eventStore(deps.tableName);
  const bucket = new ReportBucket(deps.bucketName, deps.clients.s3);
  const publish = snsSummaryPublisher(deps.clients.sns, deps.topicArn);
  const scope = { clusters: deps.config.clusters.map((c) => c.name), policy: sloPolicy(deps.config.slo) };
  return (month) => writeMonthlyReport(month, scope, { store, bucket, publish, clock: deps.clock ?? Date.now });
}
