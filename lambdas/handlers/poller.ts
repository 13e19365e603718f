import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { requiredEnv } from '../config/env.js';
import { pipelineConfig } from '../config/pipelineConfig.js';
import { overrunMessage, runPollLoop } from '../services/poller/pollLoop.js';
import { AwsClients } from '../wiring/clients.js';
import { composePoller, type Poller } from '../wiring/poller.js';
import { lambdaHandler, powertools } from './powertools.js';

const tools = powertools('failover-poller');
const { logger, metrics } = tools;

// Validated once per container; watchers live as long as the container, so a warm start keeps each
// cluster's state in memory and skips the reload.
const config = pipelineConfig();
const store = AwsClients.forLambda().eventStore(requiredEnv('TABLE_NAME'), config.store.retentionDays);
let poller: Promise<Poller> | undefined;

/** Stop this long before Lambda's own timeout: one poll and its write must still fit. */
const SAFETY_MARGIN_MS = 2_000;

/**
 * Scheduled once a minute; polls every `poll.intervalSeconds` inside the invocation, because a schedule cannot
 * fire more often, and returns before the Lambda timeout.
 */
export const handler = lambdaHandler(tools, async (_event: unknown, context: Context) => {
  const started = Date.now();
  // Built on first use: Patroni API passwords are read from Secrets Manager at run time, never from the environment.
  poller ??= composePoller(config, { store, log: logger });
  const { watchers } = await poller;
  const summary = await runPollLoop(watchers, {
    intervalMs: config.poll.intervalSeconds * 1000,
    deadline: started + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
    pollBudgetMs: config.poll.timeoutMs * 2 + 1_000,
    onOverrun: (report) => logger.warn(overrunMessage(report), { ...report }),
    onRecorded: (cluster, events) => {
      for (const event of events) {
        metrics.addMetric(`event_${event.type}`, MetricUnit.Count, 1);
        // Where Patroni dates the change itself (a promotion), how long until this poller recorded it.
        if (event.happenedAt && !event.reconciled) {
          metrics.addMetric('detection_latency', MetricUnit.Milliseconds, Math.max(0, event.observedAt - Date.parse(event.happenedAt)));
        }
        logger.info('event recorded', { cluster, id: event.id, type: event.type });
      }
    },
  });
  metrics.addMetric('polls', MetricUnit.Count, summary.polls);
  metrics.addMetric('failed_polls', MetricUnit.Count, summary.failedPolls);
  metrics.addMetric('loop_duration', MetricUnit.Milliseconds, Date.now() - started);
  // The same heartbeat per shard (its own dimension), so one silent shard among many still raises its alarm.
  const shard = metrics.singleMetric();
  shard.addDimension('shard', context.functionName);
  shard.addMetric('shard_polls', MetricUnit.Count, summary.polls);
  logger.info('poll loop finished', { ...summary });
  return summary;
});
