/**
 * The CloudWatch namespace of the pipeline's own metrics: the handlers publish there (Powertools Metrics) and the
 * CDK alarms and dashboard read from there.
 */
export const METRICS_NAMESPACE = 'PatroniFailoverPipeline';
