import type { Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AWS_CALL_TIMEOUTS } from '../adapters/awsClients.js';
import { DynamoEventStore } from '../adapters/dynamodb/EventStore.js';
import type { ProbeRequest } from '../adapters/lambda/LambdaProbeLauncher.js';
import { PgWriteProber } from '../adapters/postgres/WriteProbe.js';
import { vipTarget } from '../adapters/secrets.js';
import { runCanary } from '../notifier/canary.js';
import { runProbe } from '../notifier/Notifier.js';
import { requiredEnv } from '../shared/env.js';
import { pipelineConfig } from '../shared/pipelineConfig.js';
import { powertools } from '../shared/powertools.js';

const { logger, metrics } = powertools('failover-prober');

const config = pipelineConfig();
const store = new DynamoEventStore({ tableName: requiredEnv('TABLE_NAME'), retentionDays: config.store.retentionDays, client: new DynamoDBClient({ ...AWS_CALL_TIMEOUTS }) });
const prober = new PgWriteProber();

/** A scheduled canary run (EventBridge input `{"canary": true}`). */
interface CanaryRequest {
  readonly canary: true;
}

async function canary(): Promise<void> {
  const targets = await Promise.all(
    config.clusters.filter((c) => c.vip).map(async (c) => ({ cluster: c.name, vip: await vipTarget(c.name, c.vip!) })),
  );
  const { checked, failed } = await runCanary(targets, { prober, store, log: logger });
  metrics.addMetric('canary_failed', MetricUnit.Count, failed.length);
  metrics.publishStoredMetrics();
  logger.info('canary done', { checked, failed: failed.length });
}

/**
 * Invoked asynchronously by the notifier: write through the cluster's VIP until it works, record the verdict.
 * Or, on its schedule, one canary write through every VIP.
 */
export async function handler(request: ProbeRequest | CanaryRequest, context: Context) {
  if ('canary' in request) return canary();
  const cluster = config.clusters.find((c) => c.name === request.trigger.cluster);
  if (!cluster?.vip) {
    logger.warn('no VIP configured for the cluster; nothing to probe', { cluster: request.trigger.cluster });
    return;
  }
  const verdict = await runProbe(request.trigger, request.incidentKey, await vipTarget(cluster.name, cluster.vip), { store, prober, clock: Date.now, log: logger }, {
    deadlineMs: config.notify.probe.deadlineSeconds * 1000,
    intervalMs: config.notify.probe.intervalMs,
    hardStopAt: Date.now() + context.getRemainingTimeInMillis() - 3_000,
  });
  if (verdict.type === 'write_verified') {
    metrics.addMetric('write_outage_max', MetricUnit.Milliseconds, verdict.outage.downtimeMaxMs);
  } else {
    metrics.addMetric('write_unavailable', MetricUnit.Count, 1);
  }
  metrics.publishStoredMetrics();
}
