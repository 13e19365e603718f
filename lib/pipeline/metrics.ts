import { Duration } from 'aws-cdk-lib';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE } from '../../lambdas/domain/metrics.js';

/** One of the pipeline's own metrics, by the service that publishes it. */
export function serviceMetric(service: string, metricName: string, statistic = 'Sum', period = Duration.minutes(1)): Metric {
  return new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic, period });
}
