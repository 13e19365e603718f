/**
 * The domain vocabulary, one for every Patroni version. Adapters translate Patroni's words into these
 * (`master` and `primary` both become `primary`); nothing past the edge ever sees the raw strings.
 */

/** What a member says about its own PostgreSQL (`/patroni`'s `role`), normalised. */
export type MemberRole = 'primary' | 'replica' | 'standby_leader' | 'demoted' | 'promoted' | 'uninitialized' | 'unknown';

/** What the DCS says about a member (`/cluster`'s `role`): computed from the leader key, not from PostgreSQL. */
export type ClusterRole = 'leader' | 'standby_leader' | 'sync_standby' | 'quorum_standby' | 'replica' | 'unknown';

/** How one member's `/patroni` read ended. Never an exception: the poller must keep going. */
export type ReadFailure = 'unreachable' | 'timeout' | 'invalid_reply';

/**
 * PostgreSQL states Patroni reports when PostgreSQL died rather than being stopped on purpose (a switchover
 * passes through `stopping` and `stopped`, never these).
 */
export const POSTGRES_CRASH_STATES: ReadonlySet<string> = new Set(['crashed', 'unknown', 'start failed', 'restart failed', 'stop failed']);

/**
 * The leader's PostgreSQL down while it still holds the role: a crash state, or `stopped` as a primary (a
 * handover demotes it first; in maintenance mode Patroni restarts nothing). `stopping` is Patroni's own graceful stop.
 */
export function leaderPostgresLost(change: { readonly from: string; readonly to: string; readonly role?: MemberRole }): boolean {
  return POSTGRES_CRASH_STATES.has(change.to) || (change.to === 'stopped' && change.role === 'primary' && change.from !== 'stopping');
}

/** `/patroni` of one member, normalised. */
export interface MemberReport {
  readonly role: MemberRole;
  /** The role string as Patroni sent it, kept for audits (`master`, `primary`, ...). */
  readonly rawRole: string;
  /** PostgreSQL state as Patroni sees it: `running`, `stopped`, `crashed`, `starting`, ... (`unknown` if absent). */
  readonly state: string;
  /** Absent while PostgreSQL is not running. */
  readonly timeline: number | null;
  /** Current WAL position in bytes: `xlog.location` on a primary, max(received, replayed) on a replica. */
  readonly walPosition: number | null;
  readonly replicationState: string | null;
  readonly paused: boolean;
  readonly clusterUnlocked: boolean;
  readonly scope: string | null;
  /** Only Patroni >= 3.2 reports its own name; older members are named from `/cluster`. */
  readonly name: string | null;
  readonly patroniVersion: string | null;
  readonly systemIdentifier: string | null;
  readonly postmasterStartTime: string | null;
  /** Epoch seconds of the member's last successful DCS read, by its own clock (Patroni >= 2.1.2). */
  readonly dcsLastSeen: number | null;
  /** `server_version` (e.g. 160004); null while PostgreSQL is not running. */
  readonly serverVersion: number | null;
  /** A replica's WAL replayed so far (bytes); null on a primary or while unknown. */
  readonly replayedPosition: number | null;
  /** Replay paused on this replica (`pg_wal_replay_pause()`): it receives WAL but applies none. */
  readonly replayPaused: boolean;
  /** The member's tags as it reports them: `nofailover`, `failover_priority` (3.2+), `nosync`, ... */
  readonly tags: MemberTags;
  /** A restart-requiring parameter changed and PostgreSQL has not been restarted since. */
  readonly pendingRestart: boolean;
  /** The parameters behind `pendingRestart` (names only: Patroni >= 3.3 says them); null when Patroni does not say. */
  readonly pendingRestartReasons: readonly string[] | null;
  /** When a scheduled restart of this member is due, as Patroni prints it; null when none is scheduled. */
  readonly scheduledRestart: string | null;
  /** DCS failsafe mode is active on this member right now (the DCS is gone and the leader keeps running). */
  readonly failsafeActive: boolean;
}

/** A member's tags, validated at the parser: values are booleans, numbers or short printable words. */
export type MemberTags = Readonly<Record<string, boolean | number | string>>;

/** True when the member is tagged so that Patroni never promotes it: `nofailover`, or `failover_priority` 0 (3.2+). */
export function excludedByTags(tags: MemberTags): 'nofailover' | 'failover_priority' | null {
  if (tags.nofailover === true || tags.nofailover === 'true') return 'nofailover';
  if (typeof tags.failover_priority === 'number' && tags.failover_priority <= 0) return 'failover_priority';
  return null;
}

/**
 * One configured member's `/patroni` read. `url` (the configured REST base URL) is the member's identity;
 * `name` is null when neither the member (Patroni < 3.2) nor `/cluster` said it this time.
 */
export type MemberObservation =
  | { readonly name: string | null; readonly url: string; readonly status: 'ok'; readonly report: MemberReport }
  | { readonly name: string | null; readonly url: string; readonly status: ReadFailure; readonly error: string };

/** One member as `/cluster` (the DCS) lists it. */
export interface ClusterViewMember {
  readonly name: string;
  readonly role: ClusterRole;
  /** The role string as `/cluster` sent it: `unknown` above may hide a word no Patroni version uses. */
  readonly rawRole: string;
  readonly state: string;
  readonly timeline: number | null;
  readonly apiUrl: string | null;
  readonly host: string | null;
  readonly port: number | null;
  /** Replication lag in bytes; null when Patroni says "unknown" or does not say. */
  readonly lagBytes: number | null;
  /** Tags from the member's DCS key (what Patroni's own failover reads); empty when it has none. */
  readonly tags: MemberTags;
}

/** A switchover scheduled with `patronictl switchover --scheduled`, as `/cluster` shows it until it runs. */
export interface ScheduledSwitchover {
  /** When it is due, as Patroni prints it (ISO-8601 with offset). */
  readonly at: string;
  readonly from: string | null;
  readonly to: string | null;
}

export interface ClusterView {
  readonly scope: string | null;
  readonly paused: boolean;
  readonly members: readonly ClusterViewMember[];
  readonly scheduledSwitchover: ScheduledSwitchover | null;
}

/**
 * The dynamic configuration in the DCS (`/config`), as far as it decides whether a failover can succeed, plus the
 * whole of it flattened for the audit trail (`postgresql.parameters.max_connections` → `"100"`). The parser puts
 * `(secret)` in place of every value whose key looks like a credential, so no secret ever passes the edge.
 */
export interface HaSettings {
  readonly ttl?: number;
  readonly loopWait?: number;
  readonly retryTimeout?: number;
  readonly maximumLagOnFailover?: number;
  readonly synchronousMode?: 'off' | 'on' | 'quorum';
  readonly synchronousModeStrict?: boolean;
  readonly failsafeMode?: boolean;
  readonly checkTimeline?: boolean;
  /** Every key, flattened with dots, to its value as JSON text (cut at 200 characters) or `(secret)`. */
  readonly flat: Readonly<Record<string, string>>;
}

/** What replaces a credential's value in `HaSettings.flat`: a change of it is invisible, by design. */
export const SECRET_VALUE = '(secret)';

/** One `/history` row: timeline `endedTimeline` ended at `switchLsn`; `endedTimeline + 1` began at `timestamp` on `newLeader`. */
export interface HistoryEntry {
  readonly endedTimeline: number;
  readonly switchLsn: number;
  readonly reason: string | null;
  /** Patroni's own ISO-8601 timestamp of the promotion (to the microsecond, node-local offset). */
  readonly timestamp: string | null;
  readonly newLeader: string | null;
}

/** Everything one poll saw of one cluster, at one instant. Plain data: the detector's only input. */
export interface Observation {
  readonly cluster: string;
  /** When the poll round completed, epoch ms. The detector never reads a clock: time arrives as data. */
  readonly observedAt: number;
  /**
   * When the round's first request left, epoch ms. The replies describe the cluster somewhere between this and
   * `observedAt` (seconds apart when a member is slow), so "last seen healthy" must use this one.
   */
  readonly startedAt?: number;
  readonly members: readonly MemberObservation[];
  /** `/cluster` from the first member that answered; null when none did. */
  readonly view: ClusterView | null;
  readonly viewError: string | null;
  /** `/history`, read only when a timeline moved; null when not read or unreadable. */
  readonly history: readonly HistoryEntry[] | null;
  /** `/config`, read every so often (not every poll); absent when not read this time, null when unreadable. */
  readonly settings?: HaSettings | null;
}

/**
 * What a Patroni member name or scope looks like (`pg_node1`, `db-1.example.com`, `patroni-0`): the parser refuses
 * a reply with anything else, and the configuration a scope with anything else.
 */
export const PATRONI_IDENTIFIER = /^[A-Za-z0-9._@:+-]{1,256}$/;

/** `host:port` of a member's REST URL: how a member is named before Patroni (or `/cluster`) names it. */
export function memberHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
