import { type AnyPayload, type ClusterEvent, type EnvelopeFields, type EventPayload, makeEvent } from '../../lambdas/domain/events.js';
import type {
  ClusterView,
  ClusterViewMember,
  HistoryEntry,
  MemberObservation,
  MemberReport,
  Observation,
  ReadFailure,
} from '../../lambdas/domain/model.js';

/** Typed factories for the detector's input, so tests state only what matters to them. */

export const URLS = {
  pg_node1: 'http://127.0.0.1:8008',
  pg_node2: 'http://127.0.0.1:8009',
  pg_node3: 'http://127.0.0.1:8010',
} as const;
export type Name = keyof typeof URLS;
export const NAMES = Object.keys(URLS) as Name[];
export const SYSTEM_ID = '7712323211172005060';

export function report(overrides: Partial<MemberReport> = {}): MemberReport {
  return {
    role: 'replica',
    rawRole: 'replica',
    state: 'running',
    timeline: 1,
    walPosition: 1_000,
    replicationState: 'streaming',
    paused: false,
    clusterUnlocked: false,
    scope: 'denemek',
    name: null,
    patroniVersion: '4.1.5',
    systemIdentifier: SYSTEM_ID,
    postmasterStartTime: '2026-11-26 03:00:00.000000+00:00',
    // Unknown, as from Patroni < 2.1.2: tests of the lock's renewal set it (readiness.test.ts).
    dcsLastSeen: null,
    serverVersion: 160_004,
    replayedPosition: null,
    replayPaused: false,
    tags: {},
    pendingRestart: false,
    pendingRestartReasons: null,
    scheduledRestart: null,
    failsafeActive: false,
    ...overrides,
  };
}

export function ok(name: Name, overrides: Partial<MemberReport> = {}): MemberObservation {
  return { name, url: URLS[name], status: 'ok', report: report({ name, ...overrides }) };
}

export function primary(name: Name, timeline: number, overrides: Partial<MemberReport> = {}): MemberObservation {
  return ok(name, { role: 'primary', rawRole: 'primary', timeline, replicationState: null, ...overrides });
}

export function replica(name: Name, timeline: number, overrides: Partial<MemberReport> = {}): MemberObservation {
  return ok(name, { timeline, ...overrides });
}

export function failed(name: Name, status: ReadFailure = 'unreachable', error = 'connection refused'): MemberObservation {
  return { name: null, url: URLS[name], status, error };
}

export function viewMember(name: Name, role: ClusterViewMember['role'], timeline: number | null, state = 'running'): ClusterViewMember {
  return {
    name,
    role,
    rawRole: role,
    state,
    timeline,
    apiUrl: `${URLS[name]}/patroni`,
    host: '127.0.0.1',
    port: 5432,
    lagBytes: 0,
    tags: {},
  };
}

/** `/cluster` with `leader` holding the lock (or none) and the other named members as replicas. */
export function view(leader: Name | null, timeline: number, present: readonly Name[] = NAMES, paused = false): ClusterView {
  return {
    scope: 'denemek',
    paused,
    members: present.map((n) => viewMember(n, n === leader ? 'leader' : 'replica', timeline)),
    scheduledSwitchover: null,
  };
}

export function observation(
  observedAt: number,
  members: readonly MemberObservation[],
  clusterView: ClusterView | null,
  history: readonly HistoryEntry[] | null = null,
): Observation {
  return { cluster: 'denemek', observedAt, members, view: clusterView, viewError: clusterView ? null : 'no reply', history };
}

/** A healthy cluster: `leader` primary on `timeline`, the two others streaming replicas. */
export function healthy(observedAt: number, leader: Name, timeline: number, paused = false): Observation {
  const members = NAMES.map((n) => (n === leader ? primary(n, timeline, { paused }) : replica(n, timeline, { paused })));
  return observation(observedAt, members, view(leader, timeline, NAMES, paused));
}

export function historyRow(endedTimeline: number, newLeader: string | null, timestamp: string | null = null): HistoryEntry {
  return { endedTimeline, switchLsn: 67_109_256 + endedTimeline, reason: 'no recovery target specified', timestamp, newLeader };
}

type LeaderChanged = Extract<EventPayload, { type: 'leader_changed' }>;

/** A recorded failover pg_node1 → pg_node2 (timeline 1 → 2, old leader unreachable), as the detector would build it. */
export function leaderChangedEvent(envelope: EnvelopeFields, overrides: Partial<Omit<LeaderChanged, 'type'>> = {}): ClusterEvent {
  return makeEvent(envelope, {
    type: 'leader_changed',
    from: 'pg_node1',
    to: 'pg_node2',
    oldTimeline: 1,
    newTimeline: 2,
    kind: 'failover',
    evidence: { cause: 'old_leader_unreachable', detail: '' },
    oldLeaderWalPosition: null,
    switchLsn: null,
    walBytesAtRisk: null,
    ...overrides,
  });
}

/** pg_node2's `member_unreachable` whose error message carries `error` (text a hostile reply caused). */
export function unreachableWithError(error: string, wasLeader = false): ClusterEvent {
  return makeEvent(
    { id: 'c:0000000002:000', cluster: 'denemek', observedAt: 1_000, previousObservedAt: 0 },
    { type: 'member_unreachable', member: 'pg_node2', url: 'http://10.0.0.5:8008', status: 'invalid_reply', error, wasLeader },
  );
}

let testEventCounter = 0;

/** An event of cluster `denemek` observed at `observedAt`, with a fresh id. */
export function makeTestEvent(payload: AnyPayload, observedAt: number, cluster = 'denemek'): ClusterEvent {
  testEventCounter++;
  return makeEvent(
    { id: `${cluster}:${String(testEventCounter).padStart(10, '0')}:000`, cluster, observedAt, previousObservedAt: null },
    payload,
  );
}
