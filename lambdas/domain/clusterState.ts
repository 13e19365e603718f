import type { MemberRole, ReadFailure } from './model.js';
import type { ReadinessMemory } from './readiness.js';

/** What the detector remembers of one member between polls, keyed by its configured REST URL. */
export interface MemberMemory {
  readonly name: string;
  readonly status: 'ok' | ReadFailure;
  /** Last role and state read while it answered; kept while it is unreachable, so a return shows what changed. */
  readonly role: MemberRole | null;
  readonly state: string | null;
  /** Reported another scope or system identifier: excluded from every cluster-level decision. */
  readonly foreign: boolean;
  /**
   * Its PostgreSQL crashed while it was primary, and it has not run since: a later hand-over of the lock is a
   * failover even though its Patroni answers "demoted" as in a switchover. Absent in states written before.
   */
  readonly crashedAsPrimary?: boolean;
}

/**
 * The cluster's current state: one item per cluster in the store, versioned so that two pollers, or a
 * retried one, can never both record the same transition.
 */
export interface ClusterState {
  readonly cluster: string;
  /** Incremented by every write of the state; events of that write carry it in their ids. */
  readonly version: number;
  /** When the last poll round started (absent in states written before it was kept): see Observation.startedAt. */
  readonly observedFrom?: number;
  /** Epoch ms of the last observation applied. */
  readonly observedAt: number;
  readonly scope: string | null;
  readonly systemIdentifier: string | null;
  readonly reachable: boolean;
  readonly paused: boolean;
  /** The leader now; null while there is none (or none yet confirmed). */
  readonly leader: string | null;
  /** The last leader there was, kept across leaderless polls to name both sides of the next change. */
  readonly lastLeader: string | null;
  /** First poll without a leader, while the absence is unconfirmed or ongoing. */
  readonly leaderMissingSince: number | null;
  /** `no_leader` was recorded and no leader has come back since. */
  readonly noLeaderReported: boolean;
  readonly timeline: number | null;
  /** Members seen as running primaries at once, while that lasts. */
  readonly splitBrain: readonly string[] | null;
  /** Words no Patroni version sends, seen in the last poll (`/cluster pg_node1 role Leader`); absent in older states. */
  readonly unexpectedReplies?: readonly string[];
  readonly members: Readonly<Record<string, MemberMemory>>;
  /** Names that `/cluster` (the DCS) listed last time it answered. */
  readonly dcsMembers: readonly string[] | null;
  /** Last poll that saw a running leader: an incident starts after this instant. */
  readonly lastHealthyAt: number | null;
  /** Last WAL position (bytes) read from the leader. */
  readonly leaderWalPosition: number | null;
  /**
   * Set when the timeline moved: since when, and on which timeline, the cluster has been waiting for every other
   * member to stream from the new leader again. Null once they do; absent in states written before it was kept.
   */
  readonly awaitingRedundancy?: { readonly since: number; readonly timeline: number } | null;
  /** What readiness remembers between polls (readiness.ts); absent in states written before it existed. */
  readonly readiness?: ReadinessMemory;
}
