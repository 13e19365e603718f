import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { requiredEnv } from '../config/env.js';
import { pipelineConfig } from '../config/pipelineConfig.js';
import type { ProbeRequest } from '../domain/ports.js';
import { AwsClients } from '../wiring/clients.js';
import { composeProber } from '../wiring/prober.js';
import { lambdaHandler, powertools } from './powertools.js';

const tools = powertools('failover-prober');
const { logger, metrics } = tools;

const config = pipelineConfig();
const store = AwsClients.forLambda().eventStore(requiredEnv('TABLE_NAME'), config.store.retentionDays);
const prober = composeProber(config, { store, log: logger });

/** A scheduled canary run (EventBridge input `{"canary": true}`). */
interface CanaryRequest {
  readonly canary: true;
}

async function canary(): Promise<void> {
  const { checked, failed } = await prober.canary();
  metrics.addMetric('canary_failed', MetricUnit.Count, failed.length);
  logger.info('canary done', { checked, failed: failed.length });
}

/** The probe must have recorded its verdict before Lambda's own timeout. */
const SAFETY_MARGIN_MS = 3_000;

/**
 * Invoked asynchronously by the notifier: write through the cluster's VIP until it works, record the verdict.
 * Or, on its schedule, one canary write through every VIP.
 */
export const handler = lambdaHandler(tools, async (request: ProbeRequest | CanaryRequest, context: Context) => {
  if ('canary' in request) return canary();
  const verdict = await prober.probe(request, Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
  if (verdict?.type === 'write_verified') {
    metrics.addMetric('write_outage_max', MetricUnit.Milliseconds, verdict.outage.downtimeMaxMs);
  } else if (verdict?.type === 'write_unavailable') {
    metrics.addMetric('write_unavailable', MetricUnit.Count, 1);
  }
});
