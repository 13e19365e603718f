import type { Context, DynamoDBRecord } from 'aws-lambda';
import type { DynamoEventStore } from '../adapters/dynamodb/DynamoEventStore.js';
import { dynamoIdempotency } from '../adapters/dynamodb/idempotency.js';
import { type BatchResult, DEFAULT_LANES, processStreamBatch } from '../adapters/dynamodb/streamBatch.js';
import { LambdaProbeLauncher } from '../adapters/lambda/LambdaProbeLauncher.js';
import { PagerDutyEvents, type PagerDutyTarget } from '../adapters/pagerduty/PagerDutyEvents.js';
import { pagerDutyTarget } from '../adapters/pagerduty/routingKey.js';
import { SlackAlerts, type SlackTarget } from '../adapters/slack/SlackAlerts.js';
import { slackTargetFromSecret } from '../adapters/slack/slackSecret.js';
import { SnsAlerts } from '../adapters/sns/SnsAlerts.js';
import type { PipelineConfig } from '../config/config.js';
import type { Alert } from '../domain/alerts.js';
import { ConfigError } from '../domain/errors.js';
import type { NotifierState } from '../domain/notifierState.js';
import type { AlertChannels, FleetStore, Idempotent, Log, NotifierStore, ProbeLauncher } from '../domain/ports.js';
import { Notifier } from '../services/notifier/Notifier.js';
import { Storms } from '../services/notifier/storms.js';
import type { AwsClients } from './clients.js';

export interface NotifierDeps {
  readonly clients: AwsClients;
  readonly store: DynamoEventStore;
  readonly tableName: string;
  readonly topicArn: string;
  readonly slack: SlackTarget | undefined;
  readonly pagerduty?: PagerDutyTarget | undefined;
  readonly probes: ProbeLauncher | null;
  readonly log: Log;
  /** Once per alert, after the call that delivered it. */
  readonly onAlert?: ((alert: Alert, incidentKey: string) => void) | undefined;
}

export interface NotifierPipeline {
  readonly notifier: Notifier;
  /** One stream batch through the notifier, in order, with partial batch failures. */
  handleBatch(records: DynamoDBRecord[]): Promise<BatchResult>;
  /** Powertools sets an in-progress record's expiry from the Lambda context: give it each invocation's. */
  registerContext(context: Pick<Context, 'getRemainingTimeInMillis'>): void;
}

/** The notifier of the stream-triggered Lambda and of local mode: SNS, Slack, idempotency, probe launcher. */
export function composeNotifier(config: PipelineConfig, deps: NotifierDeps): NotifierPipeline {
  const idempotency = dynamoIdempotency(deps.tableName, deps.clients.dynamo, deps.log);
  const channels: AlertChannels = {
    sns: new SnsAlerts(deps.topicArn, config.notify.snsFormat, deps.clients.sns),
    slack: deps.slack ? new SlackAlerts(deps.slack) : undefined,
    pagerduty: deps.pagerduty ? new PagerDutyEvents(deps.pagerduty) : undefined,
  };
  const ports = { store: deps.store, channels, idempotent: idempotency.run, probes: deps.probes, log: deps.log, onAlert: deps.onAlert };
  return { ...notifierOverPorts(config, ports), registerContext: (context) => idempotency.registerContext(context) };
}

/** What the notifier's batches run on: the store, the channels and idempotency, whatever implements them. */
export interface NotifierPorts {
  readonly store: NotifierStore & FleetStore;
  readonly channels: AlertChannels;
  readonly idempotent: Idempotent;
  readonly probes: ProbeLauncher | null;
  readonly log: Log;
  readonly onAlert?: ((alert: Alert, incidentKey: string) => void) | undefined;
}

/**
 * The notifier and its batch handling over any ports: the AWS adapters above, or the benchmark's simulated AWS
 * (the same batches, lanes and state cache, so its figures are this code's). `lanes`: clusters handled at once
 * within a batch (1 is one record after another).
 */
export function notifierOverPorts(
  config: PipelineConfig,
  ports: NotifierPorts,
  lanes = DEFAULT_LANES,
): Omit<NotifierPipeline, 'registerContext'> {
  const probed = new Set(config.clusters.filter((c) => c.vip).map((c) => c.name));
  const notifier = new Notifier({
    store: ports.store,
    channels: ports.channels,
    verifiesWrites: (cluster) => probed.has(cluster),
    idempotent: ports.idempotent,
    probes: ports.probes,
    clock: Date.now,
    log: ports.log,
    runbookBaseUrl: config.notify.runbookBaseUrl,
    storms: stormsFromConfig(config, ports),
    onAlert: ports.onAlert,
  });
  return {
    notifier,
    handleBatch: (records) => {
      // Each cluster's state loaded once per batch; the revision check still guards every save.
      const states = new Map<string, NotifierState>();
      return processStreamBatch(records, (event) => notifier.handle(event, states), ports.log, lanes);
    },
  };
}

/** Storm grouping over the fleet record in the table, with the clusters' tags for the common cause; off with `notify.storm.enabled: false`. */
function stormsFromConfig(config: PipelineConfig, ports: NotifierPorts): Storms | null {
  const { enabled, clusters, windowSeconds } = config.notify.storm;
  if (!enabled) return null;
  const tags = new Map(config.clusters.map((c) => [c.name, c.tags]));
  return new Storms({
    fleet: ports.store,
    settings: { clusters, windowMs: windowSeconds * 1000 },
    tagsOf: (cluster) => tags.get(cluster) ?? {},
    channels: ports.channels,
    log: ports.log,
    runbookBaseUrl: config.notify.runbookBaseUrl,
  });
}

/** On AWS the probe runs in its own function, started asynchronously so that alerts never wait for it. */
export function lambdaProbeLauncher(functionName: string, clients: AwsClients): ProbeLauncher {
  return new LambdaProbeLauncher(functionName, clients.lambda);
}

/** The PagerDuty routing key as configured (environment locally, Secrets Manager on AWS); none without `notify.pagerduty`. */
export async function pagerDutyFromConfig(config: PipelineConfig): Promise<PagerDutyTarget | undefined> {
  return config.notify.pagerduty ? pagerDutyTarget(config.notify.pagerduty) : undefined;
}

/** On AWS the Slack target is a Secrets Manager secret, read at run time and cached. */
export function slackFromSecret(secretId: string): Promise<SlackTarget> {
  return slackTargetFromSecret(secretId);
}

/** Locally the Slack webhook URL or bot token comes from the environment variable the configuration names. */
export function slackFromEnv(config: PipelineConfig): SlackTarget | undefined {
  const slack = config.notify.slack;
  if (!slack) return undefined;
  const envName = 'webhookUrlEnv' in slack ? slack.webhookUrlEnv : slack.botTokenEnv;
  const value = process.env[envName];
  if (!value) throw new ConfigError(`notify.slack: environment variable ${envName} is not set`);
  return 'webhookUrlEnv' in slack
    ? { kind: 'webhook', url: value }
    : { kind: 'bot', token: value, channel: slack.channel, apiUrl: slack.apiUrl };
}
