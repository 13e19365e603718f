import type { Alert } from './alerts.js';
import type { HaproxyRouting, Observed, PatroniSettings } from './anatomy.js';
import type { ClusterState } from './clusterState.js';
import type { ClusterEvent, WriteErrorClass } from './events.js';
import type { Observation } from './model.js';
import type { NotifierState } from './notifierState.js';
import type { PageMark } from './pageLifecycle.js';
import type { PagerDutyRequest } from './pagerduty.js';
import type { Interval } from './sla.js';
import type { SlackMessage } from './slackIncident.js';
import type { FleetState } from './storm.js';
import type { StormPage } from './stormPages.js';

/**
 * The ports: every interface a service needs from the outside world. Services depend on these only; the
 * adapters in `lambdas/adapters/` implement them, and `lambdas/wiring/` plugs one into the other.
 */

/** Epoch milliseconds now. Services take time as a dependency so that tests can drive it. */
export type Clock = () => number;

/** The slice of Powertools' Logger the services use; the CLI passes a stderr logger with the same shape. */
export interface Log {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

// ---- The audit trail -------------------------------------------------------------------------------------

export interface EventPage {
  readonly events: ClusterEvent[];
  /** Pass back to get the next page; absent on the last one. */
  readonly cursor?: string;
}

export interface EventQuery {
  readonly since?: number;
  readonly until?: number;
  readonly limit?: number;
  readonly cursor?: string;
  /** Newest first: reading back from a period's start to find the state it began in. @default false */
  readonly newestFirst?: boolean;
}

/** The poller's and the reports' port onto the audit trail. */
export interface EventStore {
  loadState(cluster: string): Promise<ClusterState | null>;
  /**
   * Writes the new state and its events atomically, if the stored state is still at `previousVersion`; throws
   * StateConflictError when it is not, StoreError for any other failure.
   */
  commit(previousVersion: number, state: ClusterState, events: readonly ClusterEvent[]): Promise<void>;
  listEvents(cluster: string, query?: EventQuery): Promise<EventPage>;
  listAllEvents(query: EventQuery & { since: number; until: number }): Promise<ClusterEvent[]>;
}

/** A cluster the poller has recorded, and when it first did. */
export interface WatchedCluster {
  readonly cluster: string;
  readonly firstWatchedAt: number;
}

/** What the poller recorded about its own watching of one cluster: what coverage is computed from. */
export interface WatchRecord {
  /** The first poll recorded for it; null when it was never watched. */
  readonly firstWatchedAt: number | null;
  /** The last poll recorded (its state's heartbeat); null when it was never watched. */
  readonly lastPolledAt: number | null;
  /** Unwatched intervals (`watch_gap`) that overlap the range asked for, oldest first. */
  readonly gaps: readonly Interval[];
}

/** The reports' port onto the audit trail: events, and the poller's record of when it was watching. */
export interface ReportStore extends Pick<EventStore, 'listEvents' | 'listAllEvents'> {
  /** Every cluster ever watched, by name. */
  listWatchedClusters(): Promise<WatchedCluster[]>;
  watchRecord(cluster: string, range: Interval): Promise<WatchRecord>;
  /** The same for many clusters, in fewer calls. */
  watchRecords(clusters: readonly string[], range: Interval): Promise<Map<string, WatchRecord>>;
}

/** The slice of the audit trail the notifier and the probe use. */
export interface NotifierStore {
  /** Records an event written outside a state commit (verdicts, canary failures); false when its id was already written. */
  recordEvent(event: ClusterEvent): Promise<boolean>;
  /** The state with the revision it was saved at (0 when never saved). */
  loadNotifierState(cluster: string): Promise<NotifierState>;
  /**
   * Saves the state if it is still at the revision it was loaded at, and returns it at its new revision; throws
   * StateConflictError when another notifier saved first.
   */
  saveNotifierState(cluster: string, state: NotifierState): Promise<NotifierState>;
}

/** The fleet-wide notifier state (recent openings, the storm going on), shared by every notifier. */
export interface FleetStore {
  /** The fleet's state with the revision it was saved at (0 when never saved). */
  loadFleetState(): Promise<FleetState>;
  /** Saves it if still at the revision it was loaded at; StateConflictError when another notifier saved first. */
  saveFleetState(state: FleetState): Promise<FleetState>;
}

// ---- Patroni ---------------------------------------------------------------------------------------------

/** How a cluster's REST API is reached: plain data, so the configuration and the wiring can build it. */
export interface PatroniAccess {
  /** Whole-request budget (connect, headers, body). Patroni's `/patroni` can block for seconds while PostgreSQL restarts. @default 3000 */
  readonly timeoutMs?: number;
  /** Bodies past this are refused; a real `/cluster` of 3 members is under 2 KiB. @default 1 MiB */
  readonly maxBodyBytes?: number;
  /** PEM CA bundle that signed the members' REST API certificates (HTTPS). */
  readonly caFile?: string;
  /** HTTP basic auth; Patroni checks it only on unsafe methods, but a proxy in front may ask for it on GETs too. */
  readonly basicAuth?: { readonly username: string; readonly password: string };
}

/** One cluster as the poller reads it: a name and the REST base URL of each member. */
export interface ClusterTarget {
  readonly name: string;
  /** Patroni REST API base URLs, e.g. `http://10.0.0.4:8008`. */
  readonly members: readonly string[];
  readonly http?: PatroniAccess;
}

/** What the poller already knows, so the observer reads `/history` only when a timeline moved. */
export interface KnownPosition {
  readonly timeline: number | null;
  /** Read `/config` this time too (the watcher asks every so often, not every poll). */
  readonly readSettings?: boolean;
}

/** Reads one cluster per call and never throws: every member ends with an explicit status. */
export interface ClusterObserver {
  observe(target: ClusterTarget, known: KnownPosition | null): Promise<Observation>;
  close(): Promise<void>;
}

/** Reads the settings that shape a failover from the cluster's `/config`; never throws. */
export interface ClusterSettingsReader {
  readSettings(target: ClusterTarget): Promise<Observed<PatroniSettings>>;
}

/** A member's PostgreSQL as the cluster view names it: where the probe can write to it directly. */
export interface MemberAddress {
  readonly member: string;
  readonly host: string;
  readonly port: number;
}

/** Finds the current leader's own PostgreSQL address from `/cluster`; never throws. */
export interface LeaderLocator {
  leaderAddress(target: ClusterTarget): Promise<Observed<MemberAddress>>;
}

/** Reads HAProxy's stats page: when it marked the server of a member UP; never throws. */
export interface HaproxyStatsReader {
  routingTo(statsUrl: string, leader: MemberAddress): Promise<Observed<HaproxyRouting>>;
}

// ---- The write probe -------------------------------------------------------------------------------------

/** Where clients write: the VIP (or HAProxy) address, with the probe's own credentials. */
export interface VipTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly sslMode: 'disable' | 'require' | 'verify-full';
  readonly caFile?: string | undefined;
}

export interface ServedBy {
  readonly address: string | null;
  readonly port: number | null;
  readonly timeline: number | null;
}

export interface ProbeAttempt {
  /** Epoch ms when the attempt started. */
  readonly at: number;
  readonly ok: boolean;
  readonly errorClass?: WriteErrorClass;
  readonly message?: string;
  readonly servedBy?: ServedBy;
}

/** One write through the VIP; never throws. */
export interface WriteProber {
  attempt(target: VipTarget, label: { cluster: string; triggerId: string }): Promise<ProbeAttempt>;
}

/** What a probe run is started with (the prober Lambda's input). */
export interface ProbeRequest {
  readonly trigger: ClusterEvent;
  readonly incidentKey: string;
}

/** Starts a write probe without waiting for it: alerts must not queue behind a 90 s probe. */
export interface ProbeLauncher {
  launch(trigger: ClusterEvent, incidentKey: string): Promise<void>;
}

// ---- Alerts ----------------------------------------------------------------------------------------------

export interface PostedMessage {
  /** Slack's message timestamp (bot mode), the thread parent for later messages. */
  readonly ts: string | null;
  /** The channel's id as Slack answered it (bot mode): chat.update needs the id, not the name. */
  readonly channel?: string | null;
  readonly attempts: number;
}

/** An incident's parent message in Slack: where its thread hangs and what gets edited. */
export interface SlackThread {
  readonly ts: string;
  readonly channel: string | null;
  /** The event whose alert posted it. */
  readonly openedBy?: string;
}

/** Slack: bot mode threads and edits (chat.postMessage, chat.update); an incoming webhook can only post. */
export interface SlackChannel {
  readonly canEdit: boolean;
  post(message: SlackMessage, thread: SlackThread | null): Promise<PostedMessage>;
  update(thread: SlackThread, message: SlackMessage): Promise<PostedMessage>;
}

export interface SnsChannel {
  publish(alert: Alert, incidentKey: string, page?: PageMark): Promise<string>;
  /** A storm's fleet page (recognised, resolved): people's subscriptions take it instead of each member's. */
  publishStorm(page: StormPage): Promise<string>;
}

/** Each channel throws DeliveryError when it could not deliver after its own retries. */
export interface AlertChannels {
  /** `page`: what the alert means for its incident, for the texts people read and the attributes their subscriptions filter on. */
  readonly sns?: SnsChannel | undefined;
  readonly slack?: SlackChannel | undefined;
  /** PagerDuty's Events API v2: one trigger and one resolve per incident, change events for planned changes. */
  readonly pagerduty?: { send(request: PagerDutyRequest): Promise<{ attempts: number }> } | undefined;
}

/** Runs `fn` once per key, returning the first run's result on a redelivery (Powertools idempotency on AWS). */
export type Idempotent = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

// ---- Reports ---------------------------------------------------------------------------------------------

/** Where monthly reports are kept; returns the object's address. Writing the same month again replaces it. */
export interface ReportSink {
  put(month: string, name: string, extension: 'html' | 'csv' | 'json', body: string): Promise<string>;
}

/** Sends the monthly summary to the alert topic. */
export type SummaryPublisher = (subject: string, message: string) => Promise<void>;
