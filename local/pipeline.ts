import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoEventStore, ensureTable } from '../lambdas/adapters/dynamodb/EventStore.js';
import { dynamoIdempotency } from '../lambdas/adapters/dynamodb/idempotency.js';
import { PatroniClient } from '../lambdas/adapters/patroni/PatroniClient.js';
import { PgWriteProber, type WriteProber } from '../lambdas/adapters/postgres/WriteProbe.js';
import { vipTarget } from '../lambdas/adapters/secrets.js';
import { SlackAlerts, type SlackTarget } from '../lambdas/adapters/slack/SlackAlerts.js';
import { SnsAlerts } from '../lambdas/adapters/sns/SnsAlerts.js';
import { ConfigError, type PipelineConfig } from '../lambdas/config/config.js';
import type { Alert } from '../lambdas/core/alerts.js';
import type { ClusterEvent } from '../lambdas/core/events.js';
import { runCanary } from '../lambdas/notifier/canary.js';
import { Notifier, runProbe, type ProbeLauncher } from '../lambdas/notifier/Notifier.js';
import { processStreamBatch } from '../lambdas/notifier/streamBatch.js';
import type { Log } from '../lambdas/poller/ClusterWatcher.js';
import { watchersFromConfig } from '../lambdas/poller/fromConfig.js';
import { runPollLoop, type PollLoopSummary } from '../lambdas/poller/runPoller.js';
import type { AwsTarget } from './aws.js';
import { LocalStreamRunner } from './streamRunner.js';

export interface LocalPipelineOptions {
  readonly config: PipelineConfig;
  readonly aws: AwsTarget;
  readonly log: Log;
  readonly intervalSeconds?: number;
  /** Each event as the poller or the probe records it. */
  readonly onRecorded?: (event: ClusterEvent) => void;
  /** Each alert as it leaves for SNS (and Slack). */
  readonly onAlert?: (alert: Alert, incidentKey: string) => void;
  /** Injected in tests; the real `pg` prober otherwise. */
  readonly prober?: WriteProber;
}

export interface LocalPipeline {
  readonly topicArn: string;
  readonly store: DynamoEventStore;
  readonly streamRunner: LocalStreamRunner;
  /** Stops polling, lets running probes finish and the stream drain, then stops the stream reader. */
  stop(): Promise<PollLoopSummary>;
}

/** Background probes of local mode: the prober Lambda's job, one at a time per cluster. */
class LocalProbes implements ProbeLauncher {
  private readonly running = new Set<Promise<unknown>>();
  constructor(private readonly start: (trigger: ClusterEvent, incidentKey: string) => Promise<unknown>, private readonly log: Log) {}
  async launch(trigger: ClusterEvent, incidentKey: string): Promise<void> {
    const run = this.start(trigger, incidentKey)
      .catch((error: unknown) => this.log.error('write probe failed', { trigger: trigger.id, error: (error as Error).message }))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}

/**
 * Powertools sets an in-progress record's expiry from the Lambda context; locally there is none, so a
 * context that always has a minute left stands in (a crashed local run's records expire after it).
 */
function localIdempotency(tableName: string, dynamo: DynamoDBClient) {
  const idempotency = dynamoIdempotency(tableName, dynamo);
  idempotency.registerContext({ getRemainingTimeInMillis: () => 60_000 } as Context);
  return idempotency.run;
}

function slackTarget(config: PipelineConfig): SlackTarget | undefined {
  const slack = config.notify.slack;
  if (!slack) return undefined;
  const envName = 'webhookUrlEnv' in slack ? slack.webhookUrlEnv : slack.botTokenEnv;
  const value = process.env[envName];
  if (!value) throw new ConfigError(`notify.slack: environment variable ${envName} is not set`);
  return 'webhookUrlEnv' in slack ? { kind: 'webhook', url: value } : { kind: 'bot', token: value, channel: slack.channel, apiUrl: slack.apiUrl };
}

/** The standing canary on a timer, as the prober's schedule does on AWS; off unless `notify.probe.canaryMinutes`. */
function startCanary(config: PipelineConfig, deps: Parameters<typeof runCanary>[1]): { stop(): void } {
  const minutes = config.notify.probe.canaryMinutes;
  if (!minutes) return { stop: () => undefined };
  const clusters = config.clusters.filter((c) => c.vip);
  const timer = setInterval(() => {
    void Promise.all(clusters.map(async (c) => ({ cluster: c.name, vip: await vipTarget(c.name, c.vip!) })))
      .then((targets) => runCanary(targets, deps))
      .catch((error: unknown) => deps.log.error('canary failed to run', { error: (error as Error).message }));
  }, minutes * 60_000);
  return { stop: () => clearInterval(timer) };
}

/**
 * The whole pipeline on one machine, same code as on AWS: the poller loop instead of the schedule, a stream
 * reader instead of the event source mapping, background probes instead of the prober Lambda.
 */
export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const { config, aws, log } = options;
  const dynamo = new DynamoDBClient(aws.clientConfig);
  if (await ensureTable(dynamo, config.store.tableName)) log.info(`created table ${config.store.tableName}`);
  const store = new DynamoEventStore({ tableName: config.store.tableName, retentionDays: config.store.retentionDays, client: dynamo });
  const sns = new SNSClient(aws.clientConfig);
  const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'failover-alerts' }))).TopicArn!;
  const slack = slackTarget(config);
  const prober = options.prober ?? new PgWriteProber();
  const vips = new Map(config.clusters.filter((c) => c.vip).map((c) => [c.name, c.vip!]));
  const probes = new LocalProbes(async (trigger, incidentKey) => {
    const event = await runProbe(trigger, incidentKey, await vipTarget(trigger.cluster, vips.get(trigger.cluster)!), { store, prober, clock: Date.now, log }, {
      deadlineMs: config.notify.probe.deadlineSeconds * 1000,
      intervalMs: config.notify.probe.intervalMs,
    });
    options.onRecorded?.(event);
  }, log);
  const notifier = new Notifier({
    store,
    channels: { sns: new SnsAlerts(topicArn, config.notify.snsFormat, sns), slack: slack ? new SlackAlerts(slack) : undefined },
    idempotent: localIdempotency(config.store.tableName, dynamo),
    probes: vips.size > 0 ? { launch: async (trigger, key) => (vips.has(trigger.cluster) ? probes.launch(trigger, key) : undefined) } : null,
    clock: Date.now,
    log,
    onAlert: options.onAlert,
  });
  const streamRunner = new LocalStreamRunner(new DynamoDBStreamsClient(aws.clientConfig), dynamo, config.store.tableName, (records) =>
    processStreamBatch(records, (event) => notifier.handle(event), log), log);
  await streamRunner.start('LATEST');
  const canary = startCanary(config, { prober, store, log });

  const observer = new PatroniClient(Date.now, { timeoutMs: config.poll.timeoutMs });
  const abort = new AbortController();
  const watchers = watchersFromConfig(config, { observer, store, clock: Date.now, log });
  const polling = runPollLoop(watchers, {
    intervalMs: (options.intervalSeconds ?? config.poll.intervalSeconds) * 1000,
    deadline: Number.MAX_SAFE_INTEGER,
    pollBudgetMs: 0,
    signal: abort.signal,
    onRecorded: (_cluster, events) => events.forEach((event) => options.onRecorded?.(event)),
  });
  return {
    topicArn,
    store,
    streamRunner,
    async stop() {
      canary.stop();
      abort.abort();
      const summary = await polling;
      await observer.close();
      await probes.drain();
      // Let the stream reader pick up the last verdicts before it stops.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await streamRunner.stop();
      return summary;
    },
  };
}
