import type { IncidentAnatomy } from './anatomy.js';
import type { MemberRole, MemberTags, ReadFailure } from './model.js';

/**
 * The event vocabulary of the audit trail. Every event is plain JSON, carries a deterministic id and the
 * instant it was observed; where Patroni itself says when it happened (`/history`), `happenedAt` holds that.
 */

export type LeaderChangeKind = 'failover' | 'switchover' | 'unknown';

/** Why a leader change was classified as it was: the observation that decided it, in words and as a code. */
export interface LeaderChangeEvidence {
  readonly cause:
    | 'old_leader_unreachable'
    | 'old_leader_postgres_down'
    | 'old_leader_demoted'
    | 'old_leader_still_primary'
    | 'after_no_leader'
    | 'old_leader_not_observed'
    | 'reconciled_from_history';
  readonly detail: string;
}

export interface EventEnvelope {
  /** `<cluster>:<state version>:<index>`: the same observation applied to the same state always yields the same id. */
  readonly id: string;
  readonly cluster: string;
  /** Epoch ms of the poll that saw it. */
  readonly observedAt: number;
  /**
   * Epoch ms when the poll before it started: the change happened after this and before `observedAt` (null on the
   * first poll).
   */
  readonly previousObservedAt: number | null;
  /**
   * Epoch ms when the last poll that saw a running leader started, before this event: writes were last known to
   * work then, so an outage this event reveals started after it. Earlier than `previousObservedAt` when polls
   * in between already saw trouble (or recorded it without this event). Absent on events recorded before it
   * existed, and null when no poll ever saw a running leader.
   */
  readonly lastHealthyAt?: number | null;
  /** Patroni's own ISO-8601 timestamp of the change, where it gives one. */
  readonly happenedAt: string | null;
  /** True when recovered from `/history` rather than seen live. */
  readonly reconciled: boolean;
}

export type EventPayload =
  | {
      readonly type: 'watch_started';
      readonly leader: string | null;
      readonly timeline: number | null;
      readonly members: readonly string[];
    }
  | {
      readonly type: 'leader_changed';
      readonly from: string | null;
      readonly to: string;
      readonly oldTimeline: number | null;
      /** Null while the new leader is still promoting; the `timeline_changed` that follows carries it. */
      readonly newTimeline: number | null;
      readonly kind: LeaderChangeKind;
      readonly evidence: LeaderChangeEvidence;
      /** Last WAL position (bytes) seen on the old leader, for the data-at-risk estimate. */
      readonly oldLeaderWalPosition: number | null;
      /** Where the old timeline ended, from `/history` (bytes), when Patroni has recorded it. */
      readonly switchLsn: number | null;
      /**
       * WAL the old leader had written past the switch point: a lower bound on committed data the new leader
       * never received (asynchronous replication). Null when either position is unknown.
       */
      readonly walBytesAtRisk: number | null;
      /** The switchover scheduled for this time (`patronictl switchover --scheduled`) is the one that ran. */
      readonly scheduledAt?: string;
    }
  | {
      readonly type: 'timeline_changed';
      readonly from: number;
      readonly to: number;
      readonly leader: string | null;
      /** Promotions between `from` and `to` that no poll saw (recovered as reconciled `leader_changed` where `/history` allowed). */
      readonly missedPromotions: number;
    }
  | {
      readonly type: 'member_role_changed';
      readonly member: string;
      readonly from: MemberRole;
      readonly to: MemberRole;
      readonly wasLeader: boolean;
    }
  | {
      readonly type: 'member_state_changed';
      readonly member: string;
      readonly from: string;
      readonly to: string;
      readonly wasLeader: boolean;
      /** The member's role in the same reply: a leader `primary`/`stopped` lost PostgreSQL; one `demoted`/`stopped` handed over. Absent on old events. */
      readonly role?: MemberRole;
    }
  | {
      readonly type: 'member_unreachable';
      readonly member: string;
      readonly url: string;
      readonly status: ReadFailure;
      readonly error: string;
      /** The member held the leader lock at the last poll: writes are likely failing from here on. */
      readonly wasLeader: boolean;
    }
  | { readonly type: 'member_reachable'; readonly member: string; readonly url: string }
  | { readonly type: 'member_added'; readonly member: string }
  | { readonly type: 'member_removed'; readonly member: string }
  | {
      /** More member keys than make sense for one cluster came or went at once: summarised, never one event each. */
      readonly type: 'dcs_membership_changed';
      readonly added: number;
      readonly removed: number;
      /** The first few names, for the audit. */
      readonly sample: readonly string[];
    }
  | {
      /**
       * The poller did not look at the cluster for a while (its process was down, a round overran, a Lambda was not
       * invoked): from the last poll before the gap to the poll that records this event, nothing was watched. The
       * SLA reports count that time as unwatched, never as available.
       */
      readonly type: 'watch_gap';
      /** Epoch ms of the last poll known before the gap (the last recorded one after a restart). */
      readonly unwatchedFrom: number;
      /** Epoch ms when the poll that ended the gap started. */
      readonly unwatchedUntil: number;
    }
  | {
      /** After a promotion, every other member in `/cluster` streams from the new leader on its timeline again. */
      readonly type: 'redundancy_restored';
      readonly leader: string;
      readonly timeline: number;
      readonly replicas: readonly string[];
      /** From the poll that saw the timeline move to this one (from `lostSince`, when set). */
      readonly afterMs: number;
      /** Set when it ends a `redundancy_lost` (else it follows a promotion). */
      readonly lostSince?: number;
    }
  | { readonly type: 'no_leader'; readonly lastLeader: string | null; readonly since: number }
  | { readonly type: 'leader_restored'; readonly leader: string; readonly leaderlessSince: number | null }
  | { readonly type: 'split_brain'; readonly members: readonly string[] }
  | { readonly type: 'split_brain_resolved'; readonly members: readonly string[] }
  | { readonly type: 'cluster_paused' }
  | { readonly type: 'cluster_resumed' }
  | { readonly type: 'cluster_unreachable'; readonly errors: Readonly<Record<string, string>> }
  | { readonly type: 'cluster_reachable' }
  | {
      readonly type: 'identity_mismatch';
      /** The member that differs, or null when the whole cluster changed (re-bootstrapped). */
      readonly member: string | null;
      readonly field: 'scope' | 'system_identifier';
      readonly expected: string;
      readonly actual: string;
      readonly rebootstrapped: boolean;
    }
  | {
      /** A reply used a word no Patroni version sends; recorded for the audit, never taken as an outage. */
      readonly type: 'unexpected_reply';
      readonly member: string;
      readonly source: '/cluster' | '/patroni';
      readonly field: 'role';
      readonly value: string;
    }
  | ReadinessPayload;

/** A member Patroni would not promote now, and why, in words for people. */
export interface Exclusion {
  readonly member: string;
  readonly reason: string;
}

/** One key of `/config` that changed: null on the side where it was absent. Secrets show as `(secret)`, never their value. */
export interface ConfigChange {
  readonly key: string;
  readonly from: string | null;
  readonly to: string | null;
}

/** What readiness (readiness.ts) records: risks before a failover, and the audit of the HA settings. */
export type ReadinessPayload =
  | {
      readonly type: 'failover_readiness_lost';
      readonly leader: string;
      readonly level: 'warning' | 'critical';
      readonly candidates: readonly string[];
      readonly excluded: readonly Exclusion[];
      readonly since: number;
    }
  | {
      readonly type: 'failover_readiness_restored';
      readonly leader: string;
      readonly candidates: readonly string[];
      readonly since: number;
      readonly afterMs: number;
    }
  | {
      readonly type: 'promotion_stuck';
      readonly member: string;
      readonly role: string;
      readonly state: string;
      readonly since: number;
      readonly loopWaitSeconds: number;
    }
  | {
      readonly type: 'leader_lock_at_risk';
      readonly leader: string;
      readonly unrenewedForMs: number;
      readonly thresholdMs: number;
      readonly failsafeMode: boolean;
      readonly since: number;
    }
  | { readonly type: 'leader_lock_renewed'; readonly leader: string; readonly since: number; readonly afterMs: number }
  | {
      readonly type: 'dcs_unreachable';
      readonly members: readonly string[];
      readonly unrenewedForMs: number;
      readonly failsafeMode: boolean;
      readonly since: number;
    }
  | { readonly type: 'dcs_reachable'; readonly since: number; readonly afterMs: number }
  | { readonly type: 'sync_commit_stalled'; readonly leader: string; readonly excluded: readonly Exclusion[]; readonly since: number }
  | {
      readonly type: 'sync_commit_resumed';
      readonly leader: string;
      readonly syncStandbys: readonly string[];
      readonly since: number;
      readonly afterMs: number;
    }
  | {
      readonly type: 'redundancy_lost';
      readonly leader: string;
      readonly timeline: number | null;
      readonly healthy: readonly string[];
      readonly minimum: number;
      readonly excluded: readonly Exclusion[];
      readonly since: number;
    }
  | {
      readonly type: 'replica_lagging';
      readonly member: string;
      readonly lagBytes: number;
      readonly thresholdBytes: number;
      readonly replayPaused: boolean;
      readonly since: number;
    }
  | {
      readonly type: 'replica_caught_up';
      readonly member: string;
      readonly lagBytes: number | null;
      readonly since: number;
      readonly afterMs: number;
    }
  | { readonly type: 'config_changed'; readonly changes: readonly ConfigChange[] }
  | { readonly type: 'member_tags_changed'; readonly member: string; readonly from: MemberTags; readonly to: MemberTags }
  | {
      readonly type: 'pending_restart_changed';
      readonly member: string;
      readonly pending: boolean;
      readonly reasons: readonly string[] | null;
    }
  | {
      readonly type: 'version_changed';
      readonly member: string;
      readonly component: 'patroni' | 'postgresql';
      readonly from: string;
      readonly to: string;
    }
  | {
      readonly type: 'scheduled_action';
      readonly action: 'switchover' | 'restart';
      readonly at: string;
      readonly member: string | null;
      readonly from: string | null;
      readonly to: string | null;
    };

/** Classes of errors a write through the VIP can meet; `other` keeps the rest countable. */
export type WriteErrorClass = 'refused' | 'terminated' | 'read_only' | 'timeout' | 'authentication' | 'other';

/**
 * An incident's write outage with honest bounds (epoch ms). It started after the last healthy poll and before
 * the first poll that saw trouble; it ended after the last failed write and no later than the first good one.
 */
export interface OutageBounds {
  readonly startedAfter: number;
  readonly startedBefore: number;
  /** Null when no probe write failed (writes were back before the probe started). */
  readonly endedAfter: number | null;
  /** Null while writes have not come back (write_unavailable). */
  readonly endedBefore: number | null;
  /** Writes seen failing at least this long: last failed attempt minus first failed attempt. */
  readonly downtimeMinMs: number;
  /** Writes down at most this long: first good write minus last healthy poll (to the deadline when unrestored). */
  readonly downtimeMaxMs: number;
}

/**
 * Writes that worked and then failed again before working for good: while HAProxy still has the old leader UP
 * (until `fall` checks fail), it balances some connections to it.
 */
export interface Flapping {
  readonly failedAttempts: number;
  readonly spanMs: number;
}

/** The results of the synthetic write through the VIP, recorded next to the poller's events. */
export type ProbePayload =
  | {
      readonly type: 'write_verified';
      readonly trigger: { readonly id: string; readonly type: string };
      /** Key of the incident this verdict closes: the id of the event that opened it. */
      readonly incident: string;
      /**
       * Writes back for good, ISO-8601 with milliseconds: the first attempt of the final unbroken run of good
       * writes, which lasted the probe's whole stability window. (Verdicts recorded before issue 13 held the
       * first good write here and the final run in `stableSince`; read it with `restoreTimeOf`.)
       */
      readonly restoredAt: string;
      /** The first write that got through. Earlier than `restoredAt` when writes flapped after it. Absent on old verdicts. */
      readonly firstGoodWriteAt?: string;
      /** Failed attempts between the first good write and the restore for good, and that span. Absent on old verdicts. */
      readonly flapping?: Flapping;
      /** Old verdicts only: the start of the final run of good writes. */
      readonly stableSince?: string;
      /** Where the outage's seconds went, its cause, and the outage the cluster's settings predict. Absent on old verdicts. */
      readonly anatomy?: IncidentAnatomy;
      readonly attempts: number;
      readonly errors: Readonly<Partial<Record<WriteErrorClass, number>>>;
      readonly servedBy: { readonly address: string | null; readonly port: number | null; readonly timeline: number | null };
      readonly outage: OutageBounds;
    }
  | {
      readonly type: 'write_unavailable';
      readonly trigger: { readonly id: string; readonly type: string };
      readonly incident: string;
      readonly attempts: number;
      readonly errors: Readonly<Partial<Record<WriteErrorClass, number>>>;
      readonly lastError: string;
      readonly deadlineSeconds: number;
      readonly outage: OutageBounds;
    };

/** The standing canary's one failed write through the VIP: Patroni may see nothing while clients cannot write. */
export interface CanaryPayload {
  readonly type: 'canary_failed';
  /** `host:port` written to. */
  readonly vip: string;
  readonly errorClass: WriteErrorClass;
  readonly error: string;
}

/** What an event says, whoever recorded it: the poller's detector, the probe, or the canary. */
export type AnyPayload = EventPayload | ProbePayload | CanaryPayload;

export type ClusterEvent = EventEnvelope & AnyPayload;
export type EventType = ClusterEvent['type'];

/** What readiness (readiness.ts) records: risks before a failover and the audit of the HA settings. */
export const READINESS_EVENT_TYPES: readonly EventType[] = [
  'failover_readiness_lost',
  'failover_readiness_restored',
  'promotion_stuck',
  'leader_lock_at_risk',
  'leader_lock_renewed',
  'dcs_unreachable',
  'dcs_reachable',
  'sync_commit_stalled',
  'sync_commit_resumed',
  'redundancy_lost',
  'replica_lagging',
  'replica_caught_up',
  'config_changed',
  'member_tags_changed',
  'pending_restart_changed',
  'version_changed',
  'scheduled_action',
];

export const EVENT_TYPES: readonly EventType[] = [
  'watch_started',
  'watch_gap',
  'leader_changed',
  'timeline_changed',
  'member_role_changed',
  'member_state_changed',
  'member_unreachable',
  'member_reachable',
  'member_added',
  'member_removed',
  'dcs_membership_changed',
  'redundancy_restored',
  'no_leader',
  'leader_restored',
  'split_brain',
  'split_brain_resolved',
  'cluster_paused',
  'cluster_resumed',
  'cluster_unreachable',
  'cluster_reachable',
  'identity_mismatch',
  'unexpected_reply',
  ...READINESS_EVENT_TYPES,
  'write_verified',
  'write_unavailable',
  'canary_failed',
];

/** How long the audit trail keeps an event by default: 13 months, a year of monthly SLA reports plus the month being reported. */
export const DEFAULT_RETENTION_DAYS = 396;

/** The envelope as a producer gives it: Patroni's timestamp and reconciliation default to "none" and "live". */
export type EnvelopeFields = Omit<EventEnvelope, 'happenedAt' | 'reconciled'> & Partial<Pick<EventEnvelope, 'happenedAt' | 'reconciled'>>;

/**
 * The one way an event is built. The envelope comes first for people reading the JSON, and again last, so that
 * nothing in a payload can overwrite the id, the cluster or the times.
 * @example makeEvent({ id, cluster, observedAt, previousObservedAt: null }, { type: 'cluster_reachable' })
 */
export function makeEvent(envelope: EnvelopeFields, payload: AnyPayload): ClusterEvent {
  const head: EventEnvelope = { ...envelope, happenedAt: envelope.happenedAt ?? null, reconciled: envelope.reconciled ?? false };
  return { ...head, ...payload, ...head };
}

/** Deterministic event id: a retried or concurrent poll that computes the same transition computes the same id. */
export function eventId(cluster: string, version: number, index: number): string {
  return `${cluster}:${String(version).padStart(10, '0')}:${String(index).padStart(3, '0')}`;
}
