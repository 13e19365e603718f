import type { Context } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoEventStore } from '../adapters/dynamodb/EventStore.js';
import { PatroniClient } from '../adapters/patroni/PatroniClient.js';
import { resolvePassword } from '../adapters/secrets.js';
import { ClusterWatcher } from '../poller/ClusterWatcher.js';
import { clusterTarget } from '../poller/fromConfig.js';
import { runPollLoop } from '../poller/runPoller.js';
import { requiredEnv } from '../shared/env.js';
import { pipelineConfig } from '../shared/pipelineConfig.js';
import { powertools } from '../shared/powertools.js';

const { logger, metrics } = powertools('failover-poller');

// Validated once per container; watchers live as long as the container, so a warm start keeps each
// cluster's state in memory and skips the reload.
const config = pipelineConfig();
const store = new DynamoEventStore({ tableName: requiredEnv('TABLE_NAME'), retentionDays: config.store.retentionDays });
const observer = new PatroniClient(Date.now, { timeoutMs: config.poll.timeoutMs });
let watchers: ClusterWatcher[] | undefined;

/** Built on first use: Patroni API passwords are read from Secrets Manager at run time, never from the environment. */
async function watcherInstances(): Promise<ClusterWatcher[]> {
  if (!watchers) {
    const targets = await Promise.all(
      config.clusters.map(async (cluster) => {
        const api = cluster.patroni;
        const password = api?.username ? await resolvePassword(api, `clusters.${cluster.name}.patroni`) : undefined;
        return clusterTarget(cluster, config, password);
      }),
    );
    watchers = config.clusters.map((cluster, i) => new ClusterWatcher(targets[i]!, { scope: cluster.scope }, { observer, store, clock: Date.now, log: logger }));
  }
  return watchers;
}

/** Stop this long before Lambda's own timeout: one poll and its write must still fit. */
const SAFETY_MARGIN_MS = 2_000;

/**
 * Scheduled once a minute; polls every `poll.intervalSeconds` inside the invocation, because a schedule cannot
 * fire more often, and returns before the Lambda timeout.
 */
export async function handler(_event: unknown, context: Context) {
  const started = Date.now();
  const summary = await runPollLoop(await watcherInstances(), {
    intervalMs: config.poll.intervalSeconds * 1000,
    deadline: started + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
    pollBudgetMs: config.poll.timeoutMs * 2 + 1_000,
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
  metrics.publishStoredMetrics();
  logger.info('poll loop finished', { ...summary });
  return summary;
}
