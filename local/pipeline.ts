import type { DynamoEventStore } from '../lambdas/adapters/dynamodb/DynamoEventStore.js';
import type { LocalStreamRunner } from '../lambdas/adapters/dynamodb/LocalStreamRunner.js';
import type { PipelineConfig } from '../lambdas/config/config.js';
import type { Alert } from '../lambdas/domain/alerts.js';
import { messageOf, StoreError } from '../lambdas/domain/errors.js';
import type { ClusterEvent } from '../lambdas/domain/events.js';
import type { Log, WriteProber } from '../lambdas/domain/ports.js';
import { type OverrunReport, overrunMessage, type PollLoopSummary } from '../lambdas/services/poller/pollLoop.js';
import { AwsClients } from '../lambdas/wiring/clients.js';
import { ensureLocalResources, localEventStore, localStreamRunner } from '../lambdas/wiring/local.js';
import { composeNotifier, pagerDutyFromConfig, slackFromEnv } from '../lambdas/wiring/notifier.js';
import { composeProber } from '../lambdas/wiring/prober.js';
import type { AwsTarget } from './aws.js';
import { startPollerThread } from './pollerThread.js';
import { LocalProbes } from './probePool.js';

export interface LocalPipelineOptions {
  readonly config: PipelineConfig;
  readonly aws: AwsTarget;
  readonly log: Log;
  readonly intervalSeconds?: number;
  /** Each event as the poller or the probe records it. */
  readonly onRecorded?: (event: ClusterEvent) => void;
  /** Each alert as it leaves for SNS (and Slack). */
  readonly onAlert?: (alert: Alert, incidentKey: string) => void;
  /** Told of every AWS call the pipeline sends (the benchmark counts them per failover). */
  readonly onAwsCall?: (client: string, command: string) => void;
  /** Polls that did not fit the interval (at most once a minute); logged as a warning when not given. */
  readonly onOverrun?: (report: OverrunReport) => void;
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

/** Local stand-in for a Lambda context: Powertools only asks how long is left; a crashed run's records expire after it. */
const LOCAL_CONTEXT = { getRemainingTimeInMillis: () => 60_000 };

/** The standing canary on a timer, as the prober's schedule does on AWS; off unless `notify.probe.canaryMinutes`. */
function startCanary(minutes: number | undefined, canary: () => Promise<unknown>, log: Log): { stop(): void } {
  if (!minutes) return { stop: () => undefined };
  const timer = setInterval(() => {
    canary().catch((error: unknown) => log.error('canary failed to run', { error: messageOf(error) }));
  }, minutes * 60_000);
  return { stop: () => clearInterval(timer) };
}

/**
 * The whole pipeline on one machine, same code and same wiring as on AWS: the poller loop instead of the
 * schedule, a stream reader instead of the event source mapping, background probes instead of the prober Lambda.
 * The poller runs on its own thread, as it runs in its own functions on AWS: a storm's notifications on this one
 * never hold up a poll round, and a round never holds them up.
 */
export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const { config, log } = options;
  const tableName = config.store.tableName;
  const clients = new AwsClients(options.aws.clientConfig, options.onAwsCall);
  const { topicArn, createdTable } = await ensureLocalResources(clients, tableName).catch((error: unknown) => {
    throw new StoreError(
      `cannot reach ${options.aws.description} to prepare table ${tableName}: ${messageOf(error)}; is it running, and is AWS_ENDPOINT_URL right?`,
      {
        cause: error,
      },
    );
  });
  if (createdTable) log.info(`created table ${tableName}`);
  const store = localEventStore(clients, tableName, config.store.retentionDays, log);

  const prober = composeProber(config, { store, log, prober: options.prober });
  const probes = new LocalProbes(
    async (request) => {
      const verdict = await prober.probe(request);
      if (verdict) options.onRecorded?.(verdict);
    },
    log,
    config.notify.probe.localConcurrency,
  );
  const notifier = composeNotifier(config, {
    clients,
    store,
    tableName,
    topicArn,
    slack: slackFromEnv(config),
    pagerduty: await pagerDutyFromConfig(config),
    probes: config.clusters.some((c) => c.vip)
      ? { launch: async (trigger, key) => (prober.covers(trigger.cluster) ? probes.launch(trigger, key) : undefined) }
      : null,
    log,
    onAlert: options.onAlert,
  });
  notifier.registerContext(LOCAL_CONTEXT);
  const streamRunner = localStreamRunner(clients, tableName, (records) => notifier.handleBatch(records), log);
  await streamRunner.start('LATEST');
  const canary = startCanary(config.notify.probe.canaryMinutes, () => prober.canary(), log);

  const poller = await startPollerThread(
    {
      config,
      clientConfig: options.aws.pollerClientConfig ?? options.aws.clientConfig,
      intervalMs: (options.intervalSeconds ?? config.poll.intervalSeconds) * 1000,
      countAwsCalls: options.onAwsCall !== undefined,
    },
    {
      log,
      onRecorded: (events) => {
        for (const event of events) options.onRecorded?.(event);
      },
      onOverrun: (report) => (options.onOverrun ?? ((r) => log.warn(overrunMessage(r), { ...r })))(report),
      onAwsCall: options.onAwsCall,
    },
  ).catch(async (error: unknown) => {
    canary.stop();
    await streamRunner.stop();
    throw error;
  });
  return {
    topicArn,
    store,
    streamRunner,
    async stop() {
      canary.stop();
      // A poll stuck on a hung store ends at its SDK time-out (seconds); the loop returns after that poll.
      const summary = await poller.stop();
      await probes.drain();
      await prober.close();
      // Let the stream reader pick up the last verdicts before it stops.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await streamRunner.stop();
      return summary;
    },
  };
}
