import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { METRICS_NAMESPACE } from '../domain/metrics.js';

/** One Logger and one Metrics per function, named by its role (poller, notifier, prober, reporter). */
export function powertools(serviceName: string): { logger: Logger; metrics: Metrics } {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
  };
}

/**
 * A handler the Powertools way: every log line carries the request id, function and cold start; the metrics
 * the invocation added are flushed when it ends, whether it returned or threw, with a ColdStart metric on the
 * first invocation of each container.
 */
export function lambdaHandler<Event, Result>(
  tools: { logger: Logger; metrics: Metrics },
  handler: (event: Event, context: Context) => Promise<Result>,
) {
  return middy(handler)
    .use(injectLambdaContext(tools.logger))
    .use(logMetrics(tools.metrics, { captureColdStartMetric: true }));
}
