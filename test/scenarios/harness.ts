// The scenario suite's harness: a real Patroni lab, the moto emulator behind a proxy the suite can cut, the whole
// local pipeline (poller, stream, notifier, probe) with an SQS pager and a Slack stand-in, and an independent
// writer through HAProxy. Each scenario injects one fault and returns the audit trail it left.
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTopicCommand, DeleteTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { readHistory, readLeader } from '../../lab/cluster.js';
import { labDown } from '../../lab/lab.js';
import { waitFor } from '../../lab/processes.js';
import { freshLab, type LabProfile, labHaproxyConfig, labOptions } from '../../lab/profiles.js';
import { labStateExists } from '../../lab/state.js';
import { LAB_CREDENTIALS } from '../../lab/templates.js';
import type { LabOptions, PatroniMajor } from '../../lab/topology.js';
import { IndependentWriter } from '../../lab/writer.js';
import type { DynamoEventStore } from '../../lambdas/adapters/dynamodb/DynamoEventStore.js';
import { PatroniHttp } from '../../lambdas/adapters/patroni/http.js';
import { type PipelineConfig, validateConfig } from '../../lambdas/config/config.js';
import type { Alert } from '../../lambdas/domain/alerts.js';
import type { ClusterEvent } from '../../lambdas/domain/events.js';
import type { HistoryEntry } from '../../lambdas/domain/model.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline.js';
import { capturedLog } from '../support/logCapture.js';
import { PagerQueue } from '../support/pager.js';
import { TEST_SECRETS } from '../support/secrets.js';
import { PagerDutyStandIn, SlackStandIn } from '../support/standIns.js';
import { CuttableProxy } from '../support/tcpProxy.js';

export const CLUSTER = 'denemek';

export interface ScenarioWindow {
  readonly startedAt: number;
  /** Every event the store holds for the cluster from the scenario's start, in order. */
  readonly events: ClusterEvent[];
  /** `/history` rows Patroni added during the scenario. */
  readonly newHistory: HistoryEntry[];
  /** False when the scenario's end condition did not hold before its time limit. */
  readonly settled: boolean;
  /** The leader `/history` named last before the scenario (null on a fresh cluster). */
  readonly leaderBefore: string | null;
}

/** The `page` values people's email and SMS subscriptions take (lib/FailoverStorage.ts). */
const PEOPLE_PAGES = new Set(['open', 'escalate', 'resolve', 'change']);

/** Messages per channel in one scenario: how much on-call was told, and through what. */
export interface ChannelCounts {
  readonly slackParents: number;
  readonly slackThread: number;
  readonly slackEdits: number;
  /** SNS messages an email or SMS subscriber gets. */
  readonly people: number;
  readonly pagerduty: { readonly trigger: number; readonly resolve: number; readonly change: number };
}

export interface ScenarioResult {
  readonly name: string;
  readonly expected: string;
  readonly observed: string[];
  readonly leaderChanges: number;
  readonly historyRows: number;
  readonly alerts: number;
  /** Absent in runs saved before channels were counted. */
  messages?: ChannelCounts;
  readonly writerOutageSeconds: number | null;
  readonly probeBoundsSeconds: readonly [number, number] | null;
  readonly restoreErrorMs: number | null;
  /** The verdict's anatomy: cause and phases, for the report. */
  readonly anatomy: string | null;
  readonly seconds: number;
  passed: boolean;
}

/** One event as a line of the scenario table: type and the fields that tell what happened. */
export function describeEvent(event: ClusterEvent): string {
  switch (event.type) {
    case 'leader_changed':
      return `leader_changed ${event.from}→${event.to} ${event.kind}${event.reconciled ? ' (reconciled)' : ''}`;
    case 'timeline_changed':
      return `timeline_changed ${event.from}→${event.to}`;
    case 'member_role_changed':
      return `member_role_changed ${event.member} ${event.from}→${event.to}`;
    case 'member_state_changed':
      return `member_state_changed ${event.member} ${event.from}→${event.to}`;
    case 'member_unreachable':
    case 'member_reachable':
    case 'member_added':
    case 'member_removed':
      return `${event.type} ${event.member}`;
    case 'identity_mismatch':
      return `identity_mismatch ${event.field}`;
    default:
      return event.type;
  }
}

export class ScenarioLab {
  readonly options: LabOptions;
  readonly alerts: Alert[] = [];
  readonly writer: IndependentWriter;
  readonly slack = new SlackStandIn();
  readonly pagerduty = new PagerDutyStandIn(TEST_SECRETS.pagerDutyRoutingKey);
  readonly results: ScenarioResult[] = [];
  private aws!: LocalAws;
  private proxy!: CuttableProxy;
  private pipeline: LocalPipeline | null = null;
  private config!: PipelineConfig;
  private pagerQueue!: PagerQueue;
  private readonly http = new PatroniHttp({ timeoutMs: 2_000 });

  constructor(
    readonly patroni: PatroniMajor,
    readonly base: number,
    readonly profile: LabProfile = 'fast',
  ) {
    this.options = labOptions(profile, patroni, base);
    this.writer = new IndependentWriter(base);
  }

  get awsEndpoint(): string {
    return this.aws.endpoint;
  }

  get proxyControl(): CuttableProxy {
    return this.proxy;
  }

  get store(): DynamoEventStore {
    return this.pipeline!.store;
  }

  pipelineConfig(): PipelineConfig {
    return this.config;
  }

  /** The pipeline's AWS clients go through the proxy, so a scenario can take "AWS" away from the poller. */
  clientConfig() {
    return { ...awsClientConfig(this.aws), endpoint: this.proxyEndpoint };
  }

  private proxyEndpoint = '';
  private initialLeader: string | null = null;

  async start(): Promise<void> {
    this.aws = await startLocalAws();
    this.proxy = new CuttableProxy(Number(new URL(this.aws.endpoint).port));
    this.proxyEndpoint = await this.proxy.start();
    const slackUrl = await this.slack.start();
    const pagerDutyUrl = await this.pagerduty.start();
    process.env.SCENARIO_PD_KEY = TEST_SECRETS.pagerDutyRoutingKey;
    process.env.SCENARIO_PGPASSWORD = LAB_CREDENTIALS.superuser.password;
    process.env.SCENARIO_SLACK_TOKEN = TEST_SECRETS.scenarioSlackBotToken;
    this.pagerQueue = await PagerQueue.subscribe(awsClientConfig(this.aws));
    await freshLab(this.options);
    this.config = validateConfig({
      clusters: [
        {
          name: CLUSTER,
          scope: this.options.scope,
          members: this.options.ports.restApi.map((p) => `http://127.0.0.1:${p}`),
          vip: {
            host: '127.0.0.1',
            port: this.base,
            database: 'postgres',
            user: 'postgres',
            passwordEnv: 'SCENARIO_PGPASSWORD',
            probeMembersDirectly: true,
          },
          haproxy: labHaproxyConfig(this.options),
        },
      ],
      poll: { intervalSeconds: 1 },
      notify: {
        slack: { botTokenEnv: 'SCENARIO_SLACK_TOKEN', channel: '#oncall', apiUrl: slackUrl },
        pagerduty: { routingKeyEnv: 'SCENARIO_PD_KEY', eventsUrl: pagerDutyUrl },
        probe: { deadlineSeconds: 90 },
      },
      store: { tableName: `scenarios-${this.patroni}-${this.profile}` },
    });
    await this.startPipeline();
    this.writer.start(1_800);
  }

  /** An SNS outage as the notifier sees it: the alert topic is gone, so every publish fails. */
  async breakSns(): Promise<void> {
    const sns = new SNSClient(awsClientConfig(this.aws));
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'failover-alerts' }))).TopicArn!;
    await sns.send(new DeleteTopicCommand({ TopicArn: topicArn }));
  }

  /** The topic back under the same ARN, with the pager subscribed again. */
  async repairSns(): Promise<void> {
    await PagerQueue.subscribe(awsClientConfig(this.aws));
  }

  async startPipeline(): Promise<void> {
    const startedAt = Date.now();
    this.pipeline = await startLocalPipeline({
      config: this.config,
      aws: { clientConfig: this.clientConfig(), description: 'scenario emulator', ownedEmulator: null },
      log: capturedLog(`pipeline-scenarios-${this.patroni}-${this.profile}`),
      onAlert: (alert) => this.alerts.push(alert),
    });
    // The poller has read the cluster once it has written its state (the first poll of a new table, or a heartbeat).
    await waitFor(
      'the poller to read the cluster',
      20_000,
      250,
      async () => ((await this.store.loadState(CLUSTER))?.observedAt ?? 0) >= startedAt || undefined,
    );
  }

  async stopPipeline(): Promise<void> {
    await this.pipeline?.stop();
  }

  /**
   * A second whole pipeline on the same table while the first runs: two pollers racing for every transition,
   * and two stream readers delivering every record twice to two notifiers. Its alerts count with the first's.
   */
  async withSecondPipeline(work: () => Promise<void>): Promise<void> {
    const second = await startLocalPipeline({
      config: this.config,
      aws: { clientConfig: this.clientConfig(), description: 'second scenario pipeline', ownedEmulator: null },
      log: capturedLog(`pipeline-scenarios-${this.patroni}-${this.profile}-second`),
      onAlert: (alert) => this.alerts.push(alert),
    });
    try {
      await work();
    } finally {
      await second.stop();
    }
  }

  async stop(): Promise<void> {
    await this.writer.stop();
    await this.pipeline?.stop().catch(() => undefined);
    if (labStateExists(this.base)) await labDown(this.base);
    await this.http.close();
    await this.slack.stop();
    await this.pagerduty.stop();
    await this.proxy?.stop();
    await this.aws?.stop();
  }

  async history(): Promise<HistoryEntry[]> {
    const history = await readHistory(this.options, this.http);
    if (!history) throw new Error('no member answered /history');
    return history;
  }

  /** The current leader's name, from `/cluster`. */
  async leader(): Promise<string> {
    const leader = await readLeader(this.options, this.http);
    if (!leader) throw new Error('the lab has no leader');
    return leader.name;
  }

  async events(since: number): Promise<ClusterEvent[]> {
    const events: ClusterEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.pipeline!.store.listEvents(CLUSTER, { since, ...(cursor ? { cursor } : {}) });
      events.push(...page.events);
      cursor = page.cursor;
    } while (cursor);
    return events;
  }

  /**
   * Runs `act`, then waits until `done` holds for the scenario's events and 3 s pass without a new event. A
   * scenario that does not settle in time returns what it left, marked unsettled, so the report shows it.
   */
  async window(act: () => Promise<void>, done: (events: ClusterEvent[]) => boolean, timeoutMs = 150_000): Promise<ScenarioWindow> {
    await sleep(1_500);
    const historyBefore = await this.history();
    this.initialLeader = (await this.store.loadState(CLUSTER))?.leader ?? null;
    const startedAt = Date.now();
    await act();
    let events: ClusterEvent[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      events = await this.events(startedAt);
      if (done(events) || Date.now() >= deadline) break;
      await sleep(500);
    }
    const settled = done(events);
    for (let quiet = 0; settled && quiet < 20; quiet++) {
      await sleep(3_000);
      const again = await this.events(startedAt);
      if (again.length === events.length) break;
      events = again;
    }
    const historyAfter = await this.history().catch(() => historyBefore);
    // A re-bootstrapped cluster starts a new /history: every row in it is new.
    const newHistory = historyAfter.length >= historyBefore.length ? historyAfter.slice(historyBefore.length) : historyAfter;
    return { startedAt, events, newHistory, settled, leaderBefore: this.initialLeader };
  }

  /** Every alert the SQS pager has received so far. */
  pager(): Promise<Alert[]> {
    return this.pagerQueue.alerts();
  }

  /**
   * What each channel carried for the events of a window: Slack parents, thread messages and edits; the SNS
   * messages a person's subscription takes (the template's filter on `page`); PagerDuty's requests by action.
   */
  async messagesFor(window: ScenarioWindow): Promise<ChannelCounts> {
    const ids = new Set(window.events.map((e) => e.id));
    const slack = this.slack.requests.filter((r) => r.at >= window.startedAt);
    const messages = (await this.pagerQueue.drain()).filter((m) => ids.has((JSON.parse(m.Body!) as Alert).eventId));
    const pages = this.pagerduty.accepted.filter((r) => r.at >= window.startedAt);
    return {
      slackParents: slack.filter((r) => r.path.endsWith('/chat.postMessage') && !r.body.thread_ts).length,
      slackThread: slack.filter((r) => r.path.endsWith('/chat.postMessage') && r.body.thread_ts).length,
      slackEdits: slack.filter((r) => r.path.endsWith('/chat.update')).length,
      people: messages.filter((m) => PEOPLE_PAGES.has(m.MessageAttributes?.page?.StringValue ?? '')).length,
      pagerduty: {
        trigger: pages.filter((r) => r.body.event_action === 'trigger').length,
        resolve: pages.filter((r) => r.body.event_action === 'resolve').length,
        change: pages.filter((r) => r.path === '/v2/change/enqueue').length,
      },
    };
  }
}
