import type { ClusterState, MemberMemory } from './clusterState.js';
import { type ClusterEvent, type EventPayload, eventId, type LeaderChangeEvidence, type LeaderChangeKind, makeEvent } from './events.js';
import {
  type ClusterView,
  type HistoryEntry,
  type MemberObservation,
  type MemberReport,
  memberHost,
  type Observation,
  POSTGRES_CRASH_STATES,
} from './model.js';
import { DEFAULT_READINESS_POLICY, type ReadinessPolicy, readinessFingerprint, trackReadiness } from './readiness.js';

/** What the operator configured about a cluster's identity; unset fields are learnt from the first poll. */
export interface IdentityExpectation {
  readonly scope?: string | undefined;
  readonly systemIdentifier?: string | undefined;
}

export interface DetectorOptions {
  /**
   * A leaderless cluster is reported as `no_leader` only once it has been leaderless this long (and over two
   * polls): a graceful handover leaves the lock free for about a second, which is not worth a page. @default 2000
   */
  readonly noLeaderAfterMs?: number;
  /**
   * A poll that starts this long after the previous one was recorded leaves unwatched time between them
   * (`watch_gap`). The watcher sets it from the poll interval (and adds the heartbeat when the previous state
   * came from the store, which is written only that often). Unset: gaps are not reported.
   */
  readonly unwatchedAfterMs?: number;
  /** How readiness findings are confirmed and what counts as enough replicas (readiness.ts). */
  readonly readiness?: ReadinessPolicy;
}

export interface Detection {
  readonly state: ClusterState;
  readonly events: readonly ClusterEvent[];
  /**
   * True when the state must be written even without events (a member's name learnt, a pending no-leader
   * started). Timestamps and WAL positions alone do not count: steady polls write nothing but a heartbeat.
   */
  readonly stateChanged: boolean;
}

/** Payload plus the envelope fields that differ per event (Patroni's timestamp, reconciliation). */
type Draft = EventPayload & { happenedAt?: string | null; reconciled?: boolean };

/** What one detection works from, handed to each step instead of a long list of parameters. */
interface PollContext {
  /** The recorded state before this observation. */
  readonly previous: ClusterState;
  readonly observation: Observation;
  /** `/cluster`, when it answered and belongs to this cluster. */
  readonly view: ClusterView | null;
  /** Answering members of this cluster, named. */
  readonly reports: readonly NamedOkMember[];
  /** Every configured member as remembered after this observation. */
  readonly members: Readonly<Record<string, MemberMemory>>;
  /** Events found so far, in order. */
  readonly drafts: Draft[];
  readonly noLeaderAfterMs: number;
}

/** What this poll says about the lock: who holds it, on which timeline, and who held it just before. */
interface LeaderSighting {
  /** The lock holder now, null for certainly none. */
  readonly leader: string | null;
  /** The leader just before the change this poll saw: after any promotions recovered from /history. */
  readonly leaderBefore: string | null;
  readonly timeline: number | null;
  /** The `/history` row that started the observed timeline, if Patroni has it yet. */
  readonly promotion: HistoryEntry | null;
}

/** PostgreSQL states that mean a primary is down, not shutting down on purpose. */
const POSTGRES_DOWN_STATES = new Set(['crashed', 'unknown', 'stopped', 'start failed', 'restart failed', 'stop failed', 'starting']);

/**
 * Decides what changed between the last recorded state of a cluster and a new observation of it.
 * Pure: no I/O, no clock; the same inputs always give the same state, events and event ids.
 *
 * Truth table (prev = recorded state, obs = this poll; "leader" is `/cluster`'s lock holder, or, when
 * `/cluster` did not answer, the only running primary that does not report `cluster_unlocked`):
 *
 * | #  | prev                          | obs                                         | events                                                   |
 * |----|-------------------------------|---------------------------------------------|----------------------------------------------------------|
 * | 1  | none (first poll)             | anything                                    | watch_started (+ cluster_unreachable if nobody answers)  |
 * | 2  | member answered               | member fails (refused/timeout/bad reply)    | member_unreachable                                       |
 * | 3  | member failed                 | member answers                              | member_reachable (+ role/state changes vs last known)    |
 * | 4  | member role R / state S       | member role R' / state S'                   | member_role_changed / member_state_changed               |
 * | 5  | name in `/cluster`            | name gone from `/cluster` (which answered)  | member_removed (member_added for the reverse); more than 10 at once: one dcs_membership_changed |
 * | 6  | some member answered          | no member answers                           | cluster_unreachable; leader and timeline left as they were |
 * | 7  | no member answered            | some member answers                         | cluster_reachable                                        |
 * | 8  | not paused                    | paused (`pause: true`)                      | cluster_paused (cluster_resumed for the reverse)         |
 * | 9  | leader A                      | leader B                                    | leader_changed A→B, kind from A's own reply (see below)  |
 * | 10 | leader A                      | no leader, first poll so                    | none yet: recorded as pending (a handover can look so)   |
 * | 11 | no leader pending             | still no leader, for >= noLeaderAfterMs     | no_leader (since = first leaderless poll)                |
 * | 12 | no leader pending or reported | leader B ≠ last leader A                    | leader_changed A→B (+ leader_restored if reported)       |
 * | 13 | no leader reported            | leader A again                              | leader_restored                                          |
 * | 14 | leader A                      | leader unknown (`/cluster` silent, no clear primary) | none: nothing is invented                       |
 * | 15 | timeline T                    | timeline T+1                                | timeline_changed T→T+1                                   |
 * | 16 | timeline T                    | timeline T+k, k>1, `/history` read          | one reconciled leader_changed per missed promotion with Patroni's timestamp (a missed re-promotion of the same node has none), then the live change, timeline_changed T→T+k |
 * | 17 | timeline T                    | timeline T+k, k>1, `/history` unreadable    | timeline_changed with missedPromotions = k-1             |
 * | 18 | one running primary           | two or more running primaries               | split_brain (split_brain_resolved when back to one)      |
 * | 19 | scope / system id X           | one member reports Y                        | identity_mismatch for it; it is ignored from then on     |
 * | 20 | system id X                   | every member reports Y                      | identity_mismatch (rebootstrapped); timeline restarts    |
 * | 21 | -                             | a role no Patroni sends (`/cluster` "Leader") | unexpected_reply once; the members' replies decide the leader |
 * | 22 | timeline T                    | one source alone says T+k (even the leader); anyone says > T+32 | nothing moves until two sources or /history agree; > T+32 is that member's invalid_reply |
 * | 23 | timeline moved, replicas not back | every other member in `/cluster` a replica streaming on the leader's timeline (at least one) | redundancy_restored with the time since the move |
 * | 24 | observed at T                 | a poll starting more than `unwatchedAfterMs` after T | watch_gap from T to this poll's start (first, before anything it saw) |
 * | 25 | leader known, `/cluster` answered | readiness, lock, sync, redundancy, lag, settings (readiness.ts has their own table) | failover_readiness_lost, promotion_stuck, config_changed, ... |
 *
 * Kind of a leader change, from the old leader's reply in the same poll:
 * unreachable → failover; PostgreSQL crashed/stopped while still primary → failover; demoted or replica while
 * its Patroni kept answering → switchover; still a running primary → failover (and a split-brain risk);
 * after a confirmed no_leader → failover; not observed at all → unknown.
 */
export function detect(
  previous: ClusterState | null,
  raw: Observation,
  expectation: IdentityExpectation = {},
  options: DetectorOptions = {},
): Detection {
  if (previous === null) return firstObservation(raw, expectation, options.readiness ?? DEFAULT_READINESS_POLICY);
  const observation = withoutImplausibleTimelines(raw, previous.timeline);
  const drafts: Draft[] = unwatchedGap(previous, observation, options);
  const identity = resolveIdentity(previous, observation, expectation, drafts);
  const members = trackMembers(previous, observation, identity.foreignUrls, drafts);
  const reachable = observation.members.some((m) => m.status === 'ok' && !identity.foreignUrls.has(m.url));
  let next: ClusterState = {
    ...previous,
    ...identity.state,
    members,
    observedAt: observation.observedAt,
    observedFrom: observation.startedAt ?? observation.observedAt,
    reachable,
  };
  if (previous.reachable && !reachable) drafts.push({ type: 'cluster_unreachable', errors: memberErrors(observation) });
  if (!previous.reachable && reachable) drafts.push({ type: 'cluster_reachable' });
  if (reachable) {
    const view = trustedView(observation.view, next.scope);
    const reports = trustedReports(observation, identity.foreignUrls, members);
    const context: PollContext = {
      previous,
      observation,
      view,
      reports,
      members,
      drafts,
      noLeaderAfterMs: options.noLeaderAfterMs ?? 2_000,
    };
    next = trackDcsMembership(next, view, drafts);
    next = trackPause(next, view, reports, drafts);
    next = trackUnexpectedVocabulary(next, view, reports, drafts);
    next = trackSplitBrain(next, reports, drafts);
    next = trackLeaderAndTimeline(context, next);
    next = trackRedundancy(context, next);
    next = trackReadinessOf(context, next, options.readiness ?? DEFAULT_READINESS_POLICY);
  }
  const events = stamp(drafts, observation, {
    version: previous.version + 1,
    previousObservedAt: previous.observedFrom ?? previous.observedAt,
    lastHealthyAt: previous.lastHealthyAt,
  });
  const stateChanged = events.length > 0 || structurallyDifferent(previous, next);
  return { state: { ...next, version: stateChanged ? previous.version + 1 : previous.version }, events, stateChanged };
}

/** Row 24: time between two polls that nobody watched, so that no report counts it as available. */
function unwatchedGap(previous: ClusterState, observation: Observation, options: DetectorOptions): Draft[] {
  const until = observation.startedAt ?? observation.observedAt;
  if (options.unwatchedAfterMs === undefined || until - previous.observedAt <= options.unwatchedAfterMs) return [];
  return [{ type: 'watch_gap', unwatchedFrom: previous.observedAt, unwatchedUntil: until }];
}

/** Row 1: the baseline. Nothing before it is known, so nothing is reported as a change. */
function firstObservation(observation: Observation, expectation: IdentityExpectation, readiness: ReadinessPolicy): Detection {
  const reports = observation.members.filter(isOk).map((m) => m.report);
  const scope = expectation.scope ?? mostCommon(reports.map((r) => r.scope));
  const systemIdentifier =
    expectation.systemIdentifier ?? mostCommon(reports.filter((r) => r.scope === scope).map((r) => r.systemIdentifier));
  const empty: ClusterState = {
    cluster: observation.cluster,
    version: 0,
    observedAt: observation.observedAt,
    observedFrom: observation.startedAt ?? observation.observedAt,
    scope,
    systemIdentifier,
    reachable: true,
    paused: false,
    leader: null,
    lastLeader: null,
    leaderMissingSince: null,
    noLeaderReported: false,
    timeline: null,
    splitBrain: null,
    members: {},
    dcsMembers: null,
    lastHealthyAt: null,
    leaderWalPosition: null,
  };
  const drafts: Draft[] = [];
  const identity = resolveIdentity(empty, observation, expectation, drafts);
  const members = trackMembers(empty, observation, identity.foreignUrls, []);
  const reachable = observation.members.some((m) => m.status === 'ok' && !identity.foreignUrls.has(m.url));
  const view = trustedView(observation.view, scope);
  const trusted = trustedReports(observation, identity.foreignUrls, members);
  const leader = reachable ? observedLeader(view, trusted) : undefined;
  const timeline = reachable ? corroboratedTimeline(view, trusted, observation.history) : null;
  const seen: ClusterState = {
    ...empty,
    members,
    reachable,
    paused: view?.paused ?? trusted.some((r) => r.report.paused),
    leader: leader ?? null,
    lastLeader: leader ?? null,
    leaderMissingSince: leader === null ? observation.observedAt : null,
    timeline,
    dcsMembers: view ? view.members.map((m) => m.name) : null,
    lastHealthyAt: leader ? (observation.startedAt ?? observation.observedAt) : null,
    leaderWalPosition: leader ? (reportOf(trusted, leader)?.walPosition ?? null) : null,
  };
  // The first poll is readiness's baseline: settings, tags and versions to compare the next ones with.
  const state = reachable ? trackReadinessOf({ view, observation, reports: trusted, drafts }, seen, readiness) : seen;
  drafts.unshift({ type: 'watch_started', leader: leader ?? null, timeline, members: Object.values(members).map((m) => m.name) });
  if (!reachable) drafts.push({ type: 'cluster_unreachable', errors: memberErrors(observation) });
  if (state.paused) drafts.push({ type: 'cluster_paused' });
  // The first poll has no poll before it, so nothing bounds its events from below.
  const events = stamp(drafts, observation, { version: 1, previousObservedAt: null, lastHealthyAt: state.lastHealthyAt });
  return { state: { ...state, version: 1 }, events, stateChanged: true };
}

interface ResolvedIdentity {
  readonly state: Pick<ClusterState, 'scope' | 'systemIdentifier' | 'timeline' | 'leader' | 'lastLeader'>;
  readonly foreignUrls: ReadonlySet<string>;
}

/** Rows 19-20: members of another cluster are set aside; a whole cluster with a new system id was re-bootstrapped. */
function resolveIdentity(
  previous: ClusterState,
  observation: Observation,
  expectation: IdentityExpectation,
  drafts: Draft[],
): ResolvedIdentity {
  const scope = expectation.scope ?? previous.scope;
  let systemIdentifier = expectation.systemIdentifier ?? previous.systemIdentifier;
  let { timeline, leader, lastLeader } = previous;
  const ok = observation.members.filter(isOk);
  const inScope = ok.filter((m) => !scope || !m.report.scope || m.report.scope === scope);
  const ids = new Set(inScope.map((m) => m.report.systemIdentifier).filter((id): id is string => id !== null));
  const [onlyId] = [...ids];
  // Every answering member agrees on a new id, and they are a majority of the configured ones: a re-bootstrap,
  // not one stray member of another cluster.
  const majority = inScope.length * 2 > observation.members.length;
  if (systemIdentifier && ids.size === 1 && onlyId !== systemIdentifier && majority) {
    drafts.push({
      type: 'identity_mismatch',
      member: null,
      field: 'system_identifier',
      expected: systemIdentifier,
      actual: onlyId!,
      rebootstrapped: true,
    });
    systemIdentifier = onlyId!;
    timeline = null;
    leader = null;
    lastLeader = null;
  }
  const foreignUrls = new Set<string>();
  for (const member of ok) {
    const mismatch = identityMismatch(member.report, scope, systemIdentifier);
    if (!mismatch) continue;
    foreignUrls.add(member.url);
    if (!previous.members[member.url]?.foreign) {
      drafts.push({ type: 'identity_mismatch', member: nameOf(member, previous), ...mismatch, rebootstrapped: false });
    }
  }
  // A member that cannot be read keeps the verdict it had.
  for (const member of observation.members) {
    if (member.status !== 'ok' && previous.members[member.url]?.foreign) foreignUrls.add(member.url);
  }
  return { state: { scope, systemIdentifier, timeline, leader, lastLeader }, foreignUrls };
}

function identityMismatch(
  report: MemberReport,
  scope: string | null,
  systemIdentifier: string | null,
): { field: 'scope' | 'system_identifier'; expected: string; actual: string } | undefined {
  if (scope && report.scope && report.scope !== scope) return { field: 'scope', expected: scope, actual: report.scope };
  if (systemIdentifier && report.systemIdentifier && report.systemIdentifier !== systemIdentifier) {
    return { field: 'system_identifier', expected: systemIdentifier, actual: report.systemIdentifier };
  }
  return undefined;
}

/** Rows 2-4: per-member reachability, role and state, compared with what was last known of the member. */
function trackMembers(
  previous: ClusterState,
  observation: Observation,
  foreignUrls: ReadonlySet<string>,
  drafts: Draft[],
): Record<string, MemberMemory> {
  const members: Record<string, MemberMemory> = {};
  for (const member of observation.members) {
    const before = previous.members[member.url];
    const name = nameOf(member, previous);
    const foreign = foreignUrls.has(member.url);
    if (member.status !== 'ok') {
      members[member.url] = {
        name,
        status: member.status,
        role: before?.role ?? null,
        state: before?.state ?? null,
        foreign,
        ...(before?.crashedAsPrimary ? { crashedAsPrimary: true } : {}),
      };
      if (before?.status === 'ok' && !foreign) {
        drafts.push({
          type: 'member_unreachable',
          member: name,
          url: member.url,
          status: member.status,
          error: member.error,
          wasLeader: name === previous.leader,
        });
      }
      continue;
    }
    const { role, state } = member.report;
    const crashedAsPrimary =
      (role === 'primary' && POSTGRES_CRASH_STATES.has(state)) ||
      (before?.crashedAsPrimary === true && state !== 'running' && state !== 'streaming');
    members[member.url] = { name, status: 'ok', role, state, foreign, ...(crashedAsPrimary ? { crashedAsPrimary: true } : {}) };
    if (!before || foreign) continue;
    if (before.status !== 'ok') drafts.push({ type: 'member_reachable', member: name, url: member.url });
    const wasLeader = name === previous.leader;
    if (before.role !== null && before.role !== role)
      drafts.push({ type: 'member_role_changed', member: name, from: before.role, to: role, wasLeader });
    if (before.state !== null && before.state !== state)
      drafts.push({ type: 'member_state_changed', member: name, from: before.state, to: state, wasLeader, role });
  }
  return members;
}

/** Row 5: membership as the DCS sees it (member keys), only when `/cluster` answered. */
function trackDcsMembership(state: ClusterState, view: ClusterView | null, drafts: Draft[]): ClusterState {
  if (!view) return state;
  const now = view.members.map((m) => m.name);
  if (state.dcsMembers) {
    const before = new Set(state.dcsMembers);
    const after = new Set(now);
    const added = now.filter((name) => !before.has(name));
    const removed = state.dcsMembers.filter((name) => !after.has(name));
    if (added.length + removed.length > MAX_MEMBER_EVENTS) {
      // Dozens of member keys at once is not a cluster changing shape (a misdirected /cluster, a DCS shared by
      // mistake): one summary, so that a real change in the same poll is recorded at once.
      drafts.push({
        type: 'dcs_membership_changed',
        added: added.length,
        removed: removed.length,
        sample: [...added, ...removed].slice(0, 10),
      });
    } else {
      for (const name of added) drafts.push({ type: 'member_added', member: name });
      for (const name of removed) drafts.push({ type: 'member_removed', member: name });
    }
  }
  return { ...state, dcsMembers: now };
}

/** More member keys than this appearing or expiring in one poll are summarised in one event (row 5). */
const MAX_MEMBER_EVENTS = 10;

/** Row 21: a role no Patroni version sends is noted once, when it first shows; it never counts as an outage. */
function trackUnexpectedVocabulary(
  state: ClusterState,
  view: ClusterView | null,
  reports: readonly NamedOkMember[],
  drafts: Draft[],
): ClusterState {
  const seen = [
    ...(view?.members.filter((m) => m.role === 'unknown').map((m) => ({ member: m.name, source: '/cluster' as const, value: m.rawRole })) ??
      []),
    ...reports
      .filter((r) => r.report.role === 'unknown')
      .map((r) => ({ member: r.name, source: '/patroni' as const, value: r.report.rawRole })),
  ];
  const keys = seen.map((s) => `${s.source} ${s.member} role ${s.value}`);
  const before = new Set(state.unexpectedReplies ?? []);
  seen.forEach((s, i) => {
    if (!before.has(keys[i]!)) drafts.push({ type: 'unexpected_reply', member: s.member, source: s.source, field: 'role', value: s.value });
  });
  if (keys.length === 0 && before.size === 0) return state;
  return { ...state, unexpectedReplies: keys };
}

/** Row 8. */
function trackPause(state: ClusterState, view: ClusterView | null, reports: readonly NamedOkMember[], drafts: Draft[]): ClusterState {
  const paused = view ? view.paused : reports.length > 0 ? reports.some((r) => r.report.paused) : state.paused;
  if (paused && !state.paused) drafts.push({ type: 'cluster_paused' });
  if (!paused && state.paused) drafts.push({ type: 'cluster_resumed' });
  return { ...state, paused };
}

/** Row 18: two members whose PostgreSQL runs out of recovery at the same time. */
function trackSplitBrain(state: ClusterState, reports: readonly NamedOkMember[], drafts: Draft[]): ClusterState {
  const primaries = reports
    .filter((r) => r.report.role === 'primary' && r.report.state === 'running')
    .map((r) => r.name)
    .sort();
  if (primaries.length >= 2 && !state.splitBrain) {
    drafts.push({ type: 'split_brain', members: primaries });
    return { ...state, splitBrain: primaries };
  }
  if (primaries.length < 2 && state.splitBrain) {
    drafts.push({ type: 'split_brain_resolved', members: state.splitBrain });
    return { ...state, splitBrain: null };
  }
  return state;
}

/** Rows 9-17: leader and timeline together, because a missed promotion shows up as a timeline jump. */
function trackLeaderAndTimeline(context: PollContext, state: ClusterState): ClusterState {
  const { observation, view, reports, drafts } = context;
  const leader = observedLeader(view, reports);
  const timeline = corroboratedTimeline(view, reports, observation.history);
  const timelineMoved = timeline !== null && state.timeline !== null && timeline > state.timeline;
  const history = timelineMoved ? historySince(observation.history, state.timeline!, timeline) : null;
  const lastKnownLeader = state.leader ?? state.lastLeader;
  const leaderBefore = history ? reconcile(history.intermediate, lastKnownLeader, drafts) : lastKnownLeader;
  let next = state;
  if (leader !== undefined) next = applyLeader(context, state, { leader, leaderBefore, timeline, promotion: history?.last ?? null });
  if (timelineMoved) {
    const missed = timeline - state.timeline! - 1;
    drafts.push({
      type: 'timeline_changed',
      from: state.timeline!,
      to: timeline,
      leader: timelineHolder(view, reports, timeline, next.leader ?? leader ?? null),
      missedPromotions: missed,
      happenedAt: history?.last?.timestamp ?? null,
    });
  }
  if (timeline !== null && (next.timeline === null || timeline > next.timeline)) next = { ...next, timeline };
  if (timelineMoved) next = { ...next, awaitingRedundancy: { since: observation.observedAt, timeline } };
  const leaderReport = next.leader ? reportOf(reports, next.leader) : undefined;
  if (leaderReport?.role === 'primary' && leaderReport.state === 'running') {
    next = {
      ...next,
      lastHealthyAt: observation.startedAt ?? observation.observedAt,
      leaderWalPosition: leaderReport.walPosition ?? next.leaderWalPosition,
    };
  }
  return next;
}

/** Replica states in `/cluster` that mean streaming from the leader: Patroni 3.0 says `running`, 4.x `streaming`. */
const STREAMING_STATES = new Set(['streaming', 'running']);
const REPLICA_ROLES = new Set(['replica', 'sync_standby', 'quorum_standby']);

/** Row 23: after a promotion, the other members stream from the new leader again (or left the cluster). */
function trackRedundancy(context: PollContext, state: ClusterState): ClusterState {
  const awaiting = state.awaitingRedundancy;
  const { view, observation, drafts } = context;
  if (!awaiting || !view || !state.leader || state.timeline === null) return state;
  const others = view.members.filter((m) => m.name !== state.leader);
  const streaming = others.filter((m) => REPLICA_ROLES.has(m.role) && STREAMING_STATES.has(m.state) && m.timeline === state.timeline);
  if (streaming.length === 0 || streaming.length < others.length) return state;
  drafts.push({
    type: 'redundancy_restored',
    leader: state.leader,
    timeline: state.timeline,
    replicas: streaming.map((m) => m.name),
    afterMs: observation.observedAt - awaiting.since,
  });
  return { ...state, awaitingRedundancy: null };
}

/**
 * Row 25: before the failover (readiness.ts): whether a failover could succeed now, stuck promotions, the lock's
 * renewal, commit stalls, redundancy, lag, and the audit of the HA settings. Judged only while a leader is known
 * and `/cluster` answered; a leader change of this poll is marked as the scheduled switchover when it was one.
 */
function trackReadinessOf(
  context: Pick<PollContext, 'view' | 'observation' | 'reports' | 'drafts'>,
  state: ClusterState,
  policy: ReadinessPolicy,
): ClusterState {
  const { view, observation, reports, drafts } = context;
  if (!view || !state.leader) return state;
  const liveChange = drafts.findIndex((d) => d.type === 'leader_changed' && !d.reconciled);
  const outcome = trackReadiness(
    state.readiness ?? null,
    {
      view,
      reports: reportsByName(reports),
      leader: state.leader,
      timeline: state.timeline,
      freshSettings: observation.settings,
      now: observation.observedAt,
      promotedAt: state.awaitingRedundancy?.since ?? null,
      leaderChanged: liveChange >= 0,
      redundancyRestored: drafts.some((d) => d.type === 'redundancy_restored'),
      paused: state.paused,
    },
    policy,
  );
  const change = drafts[liveChange];
  if (outcome.scheduledAt && change?.type === 'leader_changed') drafts[liveChange] = { ...change, scheduledAt: outcome.scheduledAt };
  drafts.push(...outcome.drafts);
  return { ...state, readiness: outcome.memory };
}

/** Rows 9-13: the lock moved, went missing, or came back. */
function applyLeader(context: PollContext, state: ClusterState, sighting: LeaderSighting): ClusterState {
  const { previous, observation, members, drafts, noLeaderAfterMs } = context;
  const { leader, leaderBefore, timeline, promotion } = sighting;
  if (leader === null) {
    if (state.leader !== null) return { ...state, leader: null, leaderMissingSince: observation.observedAt };
    const since = state.leaderMissingSince ?? observation.observedAt;
    if (!state.noLeaderReported && observation.observedAt - since >= noLeaderAfterMs) {
      drafts.push({ type: 'no_leader', lastLeader: state.lastLeader, since });
      return { ...state, leaderMissingSince: since, noLeaderReported: true };
    }
    return { ...state, leaderMissingSince: since };
  }
  if (leaderBefore !== null && leaderBefore !== leader) {
    const { kind, evidence } =
      state.leader === null && state.noLeaderReported
        ? { kind: 'failover' as const, evidence: afterNoLeader(state, observation) }
        : classifyLeaderChange(leaderBefore, previous, observation, members);
    drafts.push({
      type: 'leader_changed',
      from: leaderBefore,
      to: leader,
      oldTimeline: state.timeline,
      newTimeline: timeline !== null && state.timeline !== null && timeline > state.timeline ? timeline : null,
      kind,
      evidence,
      oldLeaderWalPosition: state.leaderWalPosition,
      ...dataAtRisk(state.leaderWalPosition, promotion?.newLeader === leader ? promotion : null),
      happenedAt: promotion?.newLeader === leader ? promotion.timestamp : null,
    });
  }
  if (state.leader === null && state.noLeaderReported) {
    drafts.push({ type: 'leader_restored', leader, leaderlessSince: state.leaderMissingSince });
  }
  return { ...state, leader, lastLeader: leader, leaderMissingSince: null, noLeaderReported: false };
}

/** WAL the old leader wrote past the point where the new timeline branched off: lost unless it was replicated. */
function dataAtRisk(
  oldLeaderWal: number | null,
  promotion: HistoryEntry | null,
): { switchLsn: number | null; walBytesAtRisk: number | null } {
  const switchLsn = promotion?.switchLsn ?? null;
  if (switchLsn === null || oldLeaderWal === null) return { switchLsn, walBytesAtRisk: null };
  return { switchLsn, walBytesAtRisk: Math.max(0, oldLeaderWal - switchLsn) };
}

function afterNoLeader(state: ClusterState, observation: Observation): LeaderChangeEvidence {
  const seconds = state.leaderMissingSince === null ? null : (observation.observedAt - state.leaderMissingSince) / 1000;
  return { cause: 'after_no_leader', detail: `the cluster had no leader${seconds === null ? '' : ` for ${seconds.toFixed(1)} s`}` };
}

/**
 * A switchover demotes gracefully: PostgreSQL checkpoints and shuts down, and `/patroni` says `stopping` for that
 * time, which polls this close together see. A leader that was a running primary at the last poll and is
 * demoted and stopped now, without it, lost PostgreSQL (a crash Patroni failed over at once, primary_start_timeout
 * 0). Further apart, a graceful stop could have been missed: then it is taken for the switchover it looks like.
 */
const GRACEFUL_STOP_VISIBLE_WITHIN_MS = 1_500;

function vanishedWithoutGracefulStop(before: MemberMemory | undefined, now: MemberReport, pollGapMs: number): boolean {
  return (
    pollGapMs <= GRACEFUL_STOP_VISIBLE_WITHIN_MS &&
    before?.role === 'primary' &&
    before.state === 'running' &&
    (now.role === 'demoted' || now.role === 'replica') &&
    now.state !== 'stopping' &&
    now.state !== 'running'
  );
}

/** The old leader's own reply in the same poll says whether it was demoted on purpose or lost. */
export function classifyLeaderChange(
  oldLeader: string,
  previous: ClusterState,
  observation: Observation,
  members: Readonly<Record<string, MemberMemory>>,
): { kind: LeaderChangeKind; evidence: LeaderChangeEvidence } {
  const url = Object.keys(members).find((u) => members[u]!.name === oldLeader);
  const now = url ? observation.members.find((m) => m.url === url) : undefined;
  if (!url || !now) {
    return { kind: 'unknown', evidence: { cause: 'old_leader_not_observed', detail: `${oldLeader} is not among the configured members` } };
  }
  if (now.status !== 'ok') {
    return { kind: 'failover', evidence: { cause: 'old_leader_unreachable', detail: `${oldLeader} ${now.status}: ${now.error}` } };
  }
  const before = previous.members[url];
  const { role, state } = now.report;
  const crashedBefore =
    members[url]?.crashedAsPrimary === true ||
    (before?.role === 'primary' && before.state !== null && POSTGRES_DOWN_STATES.has(before.state));
  if (role === 'primary' && POSTGRES_DOWN_STATES.has(state)) {
    return { kind: 'failover', evidence: { cause: 'old_leader_postgres_down', detail: `${oldLeader} reports primary/${state}` } };
  }
  if (role === 'primary' && state === 'running') {
    return {
      kind: 'failover',
      evidence: { cause: 'old_leader_still_primary', detail: `${oldLeader} still runs as a primary without the leader lock` },
    };
  }
  if (crashedBefore) {
    return {
      kind: 'failover',
      evidence: {
        cause: 'old_leader_postgres_down',
        detail: `${oldLeader}'s PostgreSQL went down while it was primary (last ${before?.role}/${before?.state}), before it lost the lock`,
      },
    };
  }
  // Between the rounds' starts, when each request left: a reply that took seconds (PostgreSQL gone, Patroni busy)
  // still sampled the member one interval after the last.
  const pollGapMs = (observation.startedAt ?? observation.observedAt) - (previous.observedFrom ?? previous.observedAt);
  if (vanishedWithoutGracefulStop(before, now.report, pollGapMs)) {
    return {
      kind: 'failover',
      evidence: {
        cause: 'old_leader_postgres_down',
        detail: `${oldLeader} went from primary/running to ${role}/${state} between two polls without the graceful stop (stopping) a switchover shows: its PostgreSQL went down on its own`,
      },
    };
  }
  if (role === 'demoted' || role === 'replica' || state === 'stopping') {
    return {
      kind: 'switchover',
      evidence: { cause: 'old_leader_demoted', detail: `${oldLeader} handed over while its Patroni kept answering (${role}/${state})` },
    };
  }
  return { kind: 'unknown', evidence: { cause: 'old_leader_not_observed', detail: `${oldLeader} reports ${role}/${state}` } };
}

interface HistorySlice {
  /** Promotions no poll saw: they started the timelines strictly between the recorded one and the observed one. */
  readonly intermediate: readonly HistoryEntry[];
  /** The promotion that started the observed timeline, if `/history` has it yet. */
  readonly last: HistoryEntry | null;
}

function historySince(history: readonly HistoryEntry[] | null, from: number, to: number): HistorySlice | null {
  if (!history) return null;
  const byEnded = new Map(history.map((row) => [row.endedTimeline, row]));
  const intermediate: HistoryEntry[] = [];
  for (let ended = from; ended <= to - 2; ended++) {
    const row = byEnded.get(ended);
    if (!row) return null;
    intermediate.push(row);
  }
  return { intermediate, last: byEnded.get(to - 1) ?? null };
}

/** Row 16: each missed promotion that moved the lock to another node becomes its own reconciled leader_changed. */
function reconcile(rows: readonly HistoryEntry[], startLeader: string | null, drafts: Draft[]): string | null {
  let current = startLeader;
  for (const row of rows) {
    if (row.newLeader === null || row.newLeader === current) continue;
    drafts.push({
      type: 'leader_changed',
      from: current,
      to: row.newLeader,
      oldTimeline: row.endedTimeline,
      newTimeline: row.endedTimeline + 1,
      kind: 'unknown',
      evidence: { cause: 'reconciled_from_history', detail: `promotion to timeline ${row.endedTimeline + 1} found in /history` },
      oldLeaderWalPosition: null,
      switchLsn: row.switchLsn,
      walBytesAtRisk: null,
      happenedAt: row.timestamp,
      reconciled: true,
    });
    current = row.newLeader;
  }
  return current;
}

type OkMember = Extract<MemberObservation, { status: 'ok' }>;
export type NamedOkMember = OkMember & { readonly name: string };

/** The answering members' reports by name (readiness and status read them so). */
export function reportsByName(members: readonly NamedOkMember[]): Map<string, MemberReport> {
  return new Map(members.map((m) => [m.name, m.report]));
}

function isOk(member: MemberObservation): member is OkMember {
  return member.status === 'ok';
}

/** Answering members of this cluster, each named as the detector knows it (Patroni < 3.2 does not say). */
function trustedReports(
  observation: Observation,
  foreignUrls: ReadonlySet<string>,
  members: Readonly<Record<string, MemberMemory>>,
): NamedOkMember[] {
  return observation.members
    .filter(isOk)
    .filter((m) => !foreignUrls.has(m.url))
    .map((m) => ({ ...m, name: members[m.url]!.name }));
}

/** `/cluster` from a member of another scope says nothing about this cluster. */
function trustedView(view: ClusterView | null, scope: string | null): ClusterView | null {
  if (view && scope && view.scope && view.scope !== scope) return null;
  return view;
}

/**
 * The leader's name, null for "certainly none", undefined for "cannot tell" (row 14). A `/cluster` with a role
 * no Patroni version sends cannot say "no leader" on its own: the members' own replies decide (row 21).
 */
export function observedLeader(view: ClusterView | null, reports: readonly NamedOkMember[]): string | null | undefined {
  if (view) {
    const holder = view.members.find((m) => m.role === 'leader' || m.role === 'standby_leader');
    if (holder) return holder.name;
    if (!view.members.some((m) => m.role === 'unknown')) return null;
  }
  return leaderFromReports(reports);
}

/** The only running primary that does not report `cluster_unlocked`; null when every member says the lock is free. */
function leaderFromReports(reports: readonly NamedOkMember[]): string | null | undefined {
  if (reports.length === 0) return undefined;
  const holders = reports.filter((r) => r.report.role === 'primary' && r.report.state === 'running' && !r.report.clusterUnlocked);
  if (holders.length === 1) return holders[0]!.name;
  if (reports.every((r) => r.report.clusterUnlocked)) return null;
  return undefined;
}

/**
 * Timelines only grow by one per promotion; polls seconds apart miss a few at most. A member claiming more than
 * this above the recorded timeline is not reporting a timeline Patroni can reach (row 22).
 */
const MAX_TIMELINE_JUMP = 32;

/** Row 22: a member whose timeline jumped implausibly far is treated as having sent an invalid reply this poll. */
function withoutImplausibleTimelines(observation: Observation, known: number | null): Observation {
  if (known === null) return observation;
  const limit = known + MAX_TIMELINE_JUMP;
  const members = observation.members.map((m): MemberObservation => {
    if (m.status !== 'ok' || m.report.timeline === null || m.report.timeline <= limit) return m;
    const error = `reported timeline ${m.report.timeline}, more than ${MAX_TIMELINE_JUMP} above the cluster's ${known}: not a timeline Patroni reaches between two polls`;
    return { name: m.name, url: m.url, status: 'invalid_reply', error };
  });
  const view = observation.view && {
    ...observation.view,
    members: observation.view.members.map((m) => (m.timeline !== null && m.timeline > limit ? { ...m, timeline: null } : m)),
  };
  return { ...observation, members, view };
}

/**
 * Row 22: the highest timeline this poll vouches for. A timeline is believed when two sources agree on it (a
 * member's `/patroni` and `/cluster`, or two members) or when `/history` records the promotion that started it.
 * One reply alone never moves the cluster's timeline, not even the leader's own (the detector fuzzing found a
 * single forged leader reply recording a timeline the next good polls contradicted), so a bad reply cannot push
 * the state past what later good polls show. A real promotion is corroborated at once: the new leader's member key
 * in `/cluster` and its `/history` row say so in the same poll.
 */
function corroboratedTimeline(
  view: ClusterView | null,
  reports: readonly NamedOkMember[],
  history: readonly HistoryEntry[] | null,
): number | null {
  const fromReports = reports.filter((r) => r.report.timeline !== null && r.report.timeline > 0);
  const fromView = (view?.members ?? []).filter((m) => m.timeline !== null && m.timeline > 0);
  const candidates = [...new Set([...fromReports.map((r) => r.report.timeline!), ...fromView.map((m) => m.timeline!)])].sort(
    (a, b) => b - a,
  );
  const believed = candidates.find((t) => {
    const sources = fromReports.filter((r) => r.report.timeline === t).length + (fromView.some((m) => m.timeline === t) ? 1 : 0);
    return sources >= 2 || (history?.some((row) => row.endedTimeline === t - 1) ?? false);
  });
  return believed ?? null;
}

/** The highest timeline anyone reports (the client reads `/history` when it rises); the detector believes it only when corroborated. */
export function highestTimeline(view: ClusterView | null, members: readonly MemberObservation[]): number | null {
  const timelines = [
    ...members.map((m) => (m.status === 'ok' ? m.report.timeline : null)),
    ...(view?.members.map((m) => m.timeline) ?? []),
  ].filter((t): t is number => t !== null && t > 0);
  return timelines.length > 0 ? Math.max(...timelines) : null;
}

/**
 * Who runs on `timeline`: the lock holder when it reports that timeline itself (or `/cluster` shows it there),
 * else the member that reported it. With two primaries on timelines 5 and 6, the new timeline is the promoted
 * member's, whichever of them holds the lock.
 */
function timelineHolder(
  view: ClusterView | null,
  reports: readonly NamedOkMember[],
  timeline: number,
  lockHolder: string | null,
): string | null {
  const onTimeline = [
    ...reports.filter((r) => r.report.timeline === timeline).map((r) => r.name),
    ...(view?.members.filter((m) => m.timeline === timeline).map((m) => m.name) ?? []),
  ];
  if (lockHolder !== null && onTimeline.includes(lockHolder)) return lockHolder;
  const primaryThere = reports.find((r) => r.report.timeline === timeline && r.report.role === 'primary');
  return primaryThere?.name ?? onTimeline[0] ?? lockHolder;
}

function reportOf(reports: readonly NamedOkMember[], name: string): MemberReport | undefined {
  return reports.find((r) => r.name === name)?.report;
}

function nameOf(member: MemberObservation, previous: ClusterState): string {
  return member.name ?? previous.members[member.url]?.name ?? memberHost(member.url);
}

function memberErrors(observation: Observation): Record<string, string> {
  return Object.fromEntries(
    observation.members.map((m) => [m.name ?? memberHost(m.url), m.status === 'ok' ? 'ok' : `${m.status}: ${m.error}`]),
  );
}

function mostCommon(values: readonly (string | null)[]): string | null {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  for (const [value, count] of counts) if (best === null || count > counts.get(best)!) best = value;
  return best;
}

/** The envelope fields shared by every event of one detection. */
interface StampContext {
  /** The version this detection writes: its events carry it in their ids. */
  readonly version: number;
  /** When the poll before this one started; null on the first poll. */
  readonly previousObservedAt: number | null;
  readonly lastHealthyAt: number | null;
}

/** Turns drafts into events with ids from the version this detection writes. */
function stamp(drafts: readonly Draft[], observation: Observation, context: StampContext): ClusterEvent[] {
  return drafts.map((draft, index) =>
    makeEvent(
      {
        id: eventId(observation.cluster, context.version, index),
        cluster: observation.cluster,
        observedAt: observation.observedAt,
        previousObservedAt: context.previousObservedAt,
        lastHealthyAt: context.lastHealthyAt,
        happenedAt: draft.happenedAt ?? null,
        reconciled: draft.reconciled ?? false,
      },
      draft,
    ),
  );
}

/**
 * Whether a member answered, not how it failed: a member that is down reads as refused on one poll and as timed
 * out on the next whenever the poller is busy (a storm of 500 clusters polled every second flipped each dead leader
 * about 13 times, a state write each). The kind seen first stays recorded until the next write.
 */
function failedOrOk(status: MemberMemory['status']): 'ok' | 'failed' {
  return status === 'ok' ? 'ok' : 'failed';
}

/** Fields whose change must be persisted even when no event was emitted. */
function structurallyDifferent(a: ClusterState, b: ClusterState): boolean {
  const pick = (s: ClusterState) => [
    s.scope,
    s.systemIdentifier,
    s.reachable,
    s.paused,
    s.leader,
    s.lastLeader,
    s.leaderMissingSince,
    s.noLeaderReported,
    s.timeline,
    s.splitBrain,
    s.unexpectedReplies ?? [],
    s.dcsMembers,
    s.awaitingRedundancy ?? null,
    readinessFingerprint(s.readiness),
    Object.entries(s.members).map(([url, m]) => [url, m.name, failedOrOk(m.status), m.role, m.state, m.foreign]),
  ];
  return JSON.stringify(pick(a)) !== JSON.stringify(pick(b));
}
