import type { EventPayload, Exclusion, ReadinessPayload } from './events.js';
import {
  type ClusterView,
  type ClusterViewMember,
  excludedByTags,
  type HaSettings,
  type MemberReport,
  type MemberTags,
  type ScheduledSwitchover,
} from './model.js';
import { ownValue } from './records.js';

/**
 * Before the failover: whether Patroni could fail over right now, whether a promotion is stuck, whether the leader is
 * about to lose its lock, whether commits have stopped, and an audit trail of the HA settings themselves. Pure
 * functions over one poll's replies and what the previous polls left in `ReadinessMemory`; the detector calls
 * `trackReadiness` on every poll that saw a leader and records what it returns like any other event.
 */

/** What the operator chose (config `readiness`); every field has a default. */
export interface ReadinessPolicy {
  /** A finding must hold this long, over at least two polls, before it is recorded (like `no_leader`). @default 2000 */
  readonly confirmAfterMs: number;
  /** After a timeline move the replicas restart to follow the new leader: findings about them wait this long. @default 60000 */
  readonly settleAfterPromotionMs: number;
  /** `failover_readiness_lost` is recorded again as critical once it has lasted this long. @default 300000 */
  readonly criticalAfterMs: number;
  /** Healthy replicas (streaming on the leader's timeline) the cluster should have. @default 1 */
  readonly minReplicas: number;
  /** Replication lag recorded as `replica_lagging` above this; null: the cluster's `maximum_lag_on_failover`. @default null */
  readonly lagBytes: number | null;
  /** Lag must last this long: `/cluster`'s lag is nonsense for a few seconds after a failover. @default 30000 */
  readonly lagAfterMs: number;
}

export const DEFAULT_READINESS_POLICY: ReadinessPolicy = {
  confirmAfterMs: 2_000,
  settleAfterPromotionMs: 60_000,
  criticalAfterMs: 300_000,
  minReplicas: 1,
  lagBytes: null,
  lagAfterMs: 30_000,
};

/** Patroni's own defaults, used where `/config` does not hold the key (global_config.py). */
export const PATRONI_DEFAULTS = { ttl: 30, loopWait: 10, maximumLagOnFailover: 1_048_576 } as const;

/** One poll's answer to "could this cluster fail over right now, and to whom". */
export interface ReadinessAssessment {
  readonly leader: string;
  readonly timeline: number | null;
  /** Members Patroni would promote if the leader went now. */
  readonly candidates: readonly string[];
  readonly excluded: readonly Exclusion[];
  /** Replicas streaming from the leader on its timeline, whatever their tags. */
  readonly healthyReplicas: readonly string[];
  /** Each other member's lag behind the leader in bytes (the larger of Patroni's and the replay position's); null when unknown. */
  readonly lagBytes: Readonly<Record<string, number | null>>;
  /** Synchronous (or quorum) standbys streaming on the leader's timeline. */
  readonly syncStandbys: readonly string[];
  /** `synchronous_mode_strict` is on and no synchronous standby streams: commits on the leader wait forever. */
  readonly commitsStalled: boolean;
  /** The lock holder's own `/patroni` still says replica: a promotion under way, or stuck (patroni 3603, 2972, 3306). */
  readonly leaderNotPrimary: { readonly role: string; readonly state: string } | null;
}

/** The poll's facts that readiness works from, gathered by the detector. */
export interface ReadinessInput {
  readonly view: ClusterView;
  /** `/patroni` of every member that answered, by name. */
  readonly reports: ReadonlyMap<string, MemberReport>;
  readonly leader: string;
  readonly timeline: number | null;
  /** `/config` as last read (this poll's, or the memory's). */
  readonly settings: HaSettings | null;
}

const STREAMING = new Set(['streaming', 'running']);
const REPLICA_ROLES = new Set(['replica', 'sync_standby', 'quorum_standby']);

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

/**
 * Which replicas Patroni would promote right now. Truth table, first matching row excludes (a member that passes
 * every row is a candidate):
 *
 * | #  | the member                                                   | reason recorded                                       |
 * |----|--------------------------------------------------------------|-------------------------------------------------------|
 * | 1  | its `/patroni` did not answer                                | its Patroni does not answer                           |
 * | 2  | tagged `nofailover`, or `failover_priority` 0 (3.2+)         | tagged nofailover / failover_priority 0               |
 * | 3  | `/cluster` state not streaming (or running, 3.0)             | PostgreSQL <state>                                    |
 * | 4  | on another timeline than the leader                          | on timeline T, the leader on L                        |
 * | 5  | `synchronous_mode` on and not the synchronous standby        | not a synchronous standby (synchronous_mode on)       |
 * | 6  | lag above `maximum_lag_on_failover` (1 MB when unset)        | N MB behind (maximum_lag_on_failover M MB), replay paused if so |
 */
export function assessReadiness(input: ReadinessInput): ReadinessAssessment {
  const { view, reports, leader, timeline, settings } = input;
  const leaderReport = reports.get(leader);
  const maxLag = settings?.maximumLagOnFailover ?? PATRONI_DEFAULTS.maximumLagOnFailover;
  const syncMode = settings?.synchronousMode ?? 'off';
  const others = view.members.filter((m) => m.name !== leader);
  const lagBytes = Object.fromEntries(others.map((m) => [m.name, lagOf(m, reports.get(m.name), leaderReport)]));
  const healthy = others.filter((m) => isHealthyReplica(m, timeline));
  const syncStandbys = healthy.filter((m) => m.role === 'sync_standby' || m.role === 'quorum_standby').map((m) => m.name);
  const excluded: Exclusion[] = [];
  const candidates: string[] = [];
  for (const member of others) {
    const reason = exclusionOf(member, {
      report: reports.get(member.name),
      timeline,
      syncMode,
      maxLag,
      lag: ownValue(lagBytes, member.name) ?? null,
    });
    if (reason) excluded.push({ member: member.name, reason });
    else candidates.push(member.name);
  }
  return {
    leader,
    timeline,
    candidates,
    excluded,
    healthyReplicas: healthy.map((m) => m.name),
    lagBytes,
    syncStandbys,
    commitsStalled: settings?.synchronousModeStrict === true && syncMode !== 'off' && syncStandbys.length === 0,
    leaderNotPrimary:
      leaderReport && view.members.find((m) => m.name === leader)?.role === 'leader' && inRecovery(leaderReport)
        ? { role: leaderReport.role, state: leaderReport.state }
        : null,
  };
}

/** Still a replica by its own word: a crashed or stopping primary is another story (the detector's), not a stuck promotion. */
function inRecovery(report: MemberReport): boolean {
  return report.role !== 'primary' && report.role !== 'standby_leader' && report.role !== 'demoted';
}

function isHealthyReplica(member: ClusterViewMember, timeline: number | null): boolean {
  return REPLICA_ROLES.has(member.role) && STREAMING.has(member.state) && member.timeline !== null && member.timeline === timeline;
}

/** The larger of Patroni's own lag (received WAL) and how far replay is behind the leader's position. */
function lagOf(member: ClusterViewMember, report: MemberReport | undefined, leader: MemberReport | undefined): number | null {
  const leaderPosition = leader?.walPosition ?? null;
  const replayed = report?.replayedPosition ?? null;
  const replayLag = leaderPosition !== null && replayed !== null ? Math.max(0, leaderPosition - replayed) : null;
  if (member.lagBytes === null) return replayLag;
  return replayLag === null ? member.lagBytes : Math.max(member.lagBytes, replayLag);
}

interface ExclusionFacts {
  readonly report: MemberReport | undefined;
  readonly timeline: number | null;
  readonly syncMode: NonNullable<HaSettings['synchronousMode']>;
  readonly maxLag: number;
  readonly lag: number | null;
}

function exclusionOf(member: ClusterViewMember, facts: ExclusionFacts): string | null {
  const { report, timeline, syncMode, maxLag, lag } = facts;
  if (!report) return 'its Patroni does not answer';
  const tagged = excludedByTags(report.tags) ?? excludedByTags(member.tags);
  if (tagged === 'nofailover') return 'tagged nofailover';
  if (tagged === 'failover_priority') return 'failover_priority 0';
  if (!STREAMING.has(member.state)) return `PostgreSQL ${member.state}`;
  if (member.timeline !== timeline) return `on timeline ${member.timeline ?? '?'}, the leader on ${timeline ?? '?'}`;
  if (syncMode === 'on' && member.role !== 'sync_standby') return 'not a synchronous standby (synchronous_mode on)';
  if (syncMode === 'quorum' && member.role !== 'quorum_standby' && member.role !== 'sync_standby') {
    return 'not a quorum standby (synchronous_mode quorum)';
  }
  if (lag !== null && lag > maxLag) {
    return `${megabytes(lag)} behind (maximum_lag_on_failover ${megabytes(maxLag)})${report.replayPaused ? ', replay paused' : ''}`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// From one poll's assessment to events: debounced conditions and the audit of settings, kept in ReadinessMemory.

/** A finding that must last before it is recorded, and is recorded again when it ends. */
export interface ConditionMemory {
  /** The first poll that saw it (epoch ms). */
  readonly since: number;
  readonly reported: boolean;
  /** `failover_readiness_lost` was recorded again as critical. */
  readonly critical?: boolean;
}

/** What the audit compares each poll with: the last seen tags, restart flag and versions of a member. */
export interface MemberAudit {
  readonly tags: MemberTags;
  readonly pendingRestart: boolean;
  readonly patroniVersion: string | null;
  readonly serverVersion: number | null;
  readonly scheduledRestart: string | null;
}

export type ConditionName = 'readiness' | 'promotion' | 'lock' | 'dcs' | 'sync' | 'redundancy';

/** What readiness remembers between polls; part of the cluster's state. */
export interface ReadinessMemory {
  /** `/config` as last read; null until it has been. */
  readonly settings: HaSettings | null;
  readonly conditions: Readonly<Partial<Record<ConditionName, ConditionMemory>>>;
  /** Replicas lagging above the threshold, by name. */
  readonly lagging: Readonly<Record<string, ConditionMemory>>;
  /**
   * Each member's `dcs_last_seen` and when (by the poller's clock) it first showed that value: how long a member has
   * not read the DCS is measured on our clock, so a member's clock skew never raises the alarm.
   */
  readonly dcsSeen: Readonly<Record<string, { readonly value: number; readonly since: number }>>;
  readonly members: Readonly<Record<string, MemberAudit>>;
  /** The scheduled switchover `/cluster` showed, and when it stopped showing it (it ran, or was cancelled). */
  readonly scheduled: (ScheduledSwitchover & { readonly goneAt: number | null }) | null;
}

export const EMPTY_READINESS: ReadinessMemory = { settings: null, conditions: {}, lagging: {}, dcsSeen: {}, members: {}, scheduled: null };

/** A leader change this long after its scheduled switchover left `/cluster` is still the scheduled one. */
const SCHEDULED_MATCH_MS = 120_000;

/** The payloads readiness records (their shapes are in the event vocabulary); the detector stamps them like its own. */
export type ReadinessDraft = ReadinessPayload | Extract<EventPayload, { type: 'redundancy_restored' }>;

/** One poll as readiness reads it: `/config` comes as `freshSettings`, and the remembered copy stands in between reads. */
export interface ReadinessPoll extends Omit<ReadinessInput, 'settings'> {
  readonly now: number;
  /** `/config` read this poll: absent when not read this time, null when it could not be read. */
  readonly freshSettings: HaSettings | null | undefined;
  /** When the timeline last moved, while the replicas have not all followed yet (the detector's awaitingRedundancy). */
  readonly promotedAt: number | null;
  /** A leader change recorded by this same poll, whose scheduling readiness can tell. */
  readonly leaderChanged: boolean;
  /** The detector's own `redundancy_restored` (after a promotion) is in this poll: readiness does not record a second. */
  readonly redundancyRestored: boolean;
  /** Maintenance mode: Patroni fails over nothing, so readiness is not judged (the audit still runs). */
  readonly paused: boolean;
}

export interface ReadinessOutcome {
  readonly memory: ReadinessMemory;
  readonly drafts: readonly ReadinessDraft[];
  /** The leader change of this poll was the scheduled switchover due at this time. */
  readonly scheduledAt: string | null;
}

/**
 * The events of one poll. Truth table of the conditions (each confirmed over `confirmAfterMs` and two polls, and
 * recorded again when it ends; "settling" is the `settleAfterPromotionMs` after a timeline move):
 *
 * | #  | condition                                                            | recorded                                   | ends with                   |
 * |----|----------------------------------------------------------------------|--------------------------------------------|-----------------------------|
 * | 1  | no candidate (assessReadiness), not paused, not settling             | failover_readiness_lost (warning)          | failover_readiness_restored |
 * | 2  | row 1 for `criticalAfterMs`                                          | failover_readiness_lost (critical) again   |                             |
 * | 3  | lock holder's /patroni still a replica for one loop_wait             | promotion_stuck                            | (the write probe's verdict) |
 * | 4  | the leader's dcs_last_seen unchanged for more than ttl − loop_wait   | leader_lock_at_risk                        | leader_lock_renewed         |
 * | 5  | every answering member's unchanged that long                          | dcs_unreachable (instead of row 4)         | dcs_reachable               |
 * | 6  | strict synchronous mode and no synchronous standby streaming         | sync_commit_stalled                        | sync_commit_resumed         |
 * | 7  | healthy replicas below `minReplicas`, not settling                   | redundancy_lost                            | redundancy_restored         |
 * | 8  | a replica's lag above the threshold for `lagAfterMs`, not settling   | replica_lagging                            | replica_caught_up           |
 *
 * Audit, recorded at once (the first sight of a member or of `/config` is the baseline, not a change):
 * `/config` keys changed → config_changed; a member's tags → member_tags_changed; `pending_restart` on/off →
 * pending_restart_changed; Patroni or PostgreSQL version → version_changed; a switchover or restart newly
 * scheduled → scheduled_action (and a leader change within two minutes of the schedule leaving `/cluster` is marked
 * as the scheduled one).
 */
export function trackReadiness(
  previous: ReadinessMemory | null,
  poll: ReadinessPoll,
  policy: ReadinessPolicy = DEFAULT_READINESS_POLICY,
): ReadinessOutcome {
  const memory = previous ?? EMPTY_READINESS;
  const drafts: ReadinessDraft[] = [];
  const settings = poll.freshSettings === undefined || poll.freshSettings === null ? memory.settings : poll.freshSettings;
  drafts.push(...configChanges(memory.settings, poll.freshSettings));
  const audit = auditMembers(memory.members, poll.reports);
  drafts.push(...audit.drafts);
  const schedule = trackSchedule(memory.scheduled, poll);
  drafts.push(...schedule.drafts);
  const dcsSeen = trackDcsSeen(memory.dcsSeen, poll);
  const judged = { ...poll, settings };
  const conditions = poll.paused
    ? { conditions: memory.conditions, lagging: memory.lagging, drafts: [] }
    : judge(memory, judged, dcsSeen, policy);
  drafts.push(...conditions.drafts);
  return {
    memory: {
      settings,
      conditions: conditions.conditions,
      lagging: conditions.lagging,
      dcsSeen,
      members: audit.members,
      scheduled: schedule.scheduled,
    },
    drafts,
    scheduledAt: schedule.scheduledAt,
  };
}

function configChanges(before: HaSettings | null, after: HaSettings | null | undefined): ReadinessDraft[] {
  if (!before || !after) return [];
  // `pause` has its own events (cluster_paused, cluster_resumed).
  const keys = [...new Set([...Object.keys(before.flat), ...Object.keys(after.flat)])].filter((key) => key !== 'pause').sort();
  const changes = keys
    .filter((key) => before.flat[key] !== after.flat[key])
    .map((key) => ({ key, from: before.flat[key] ?? null, to: after.flat[key] ?? null }));
  return changes.length > 0 ? [{ type: 'config_changed', changes }] : [];
}

function auditOf(report: MemberReport): MemberAudit {
  return {
    tags: report.tags,
    pendingRestart: report.pendingRestart,
    patroniVersion: report.patroniVersion,
    serverVersion: report.serverVersion,
    scheduledRestart: report.scheduledRestart,
  };
}

const sameTags = (a: MemberTags, b: MemberTags) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

function auditMembers(
  before: Readonly<Record<string, MemberAudit>>,
  reports: ReadonlyMap<string, MemberReport>,
): { members: Record<string, MemberAudit>; drafts: ReadinessDraft[] } {
  const members: Record<string, MemberAudit> = { ...before };
  const drafts: ReadinessDraft[] = [];
  for (const [member, report] of reports) {
    const now = auditOf(report);
    members[member] = now;
    const was = ownValue(before, member);
    if (!was) continue;
    if (!sameTags(was.tags, now.tags)) drafts.push({ type: 'member_tags_changed', member, from: was.tags, to: now.tags });
    if (was.pendingRestart !== now.pendingRestart) {
      drafts.push({ type: 'pending_restart_changed', member, pending: now.pendingRestart, reasons: report.pendingRestartReasons });
    }
    drafts.push(...versionChanges(member, was, now));
    if (now.scheduledRestart && now.scheduledRestart !== was.scheduledRestart) {
      drafts.push({ type: 'scheduled_action', action: 'restart', at: now.scheduledRestart, member, from: null, to: null });
    }
  }
  return { members, drafts };
}

function versionChanges(member: string, was: MemberAudit, now: MemberAudit): ReadinessDraft[] {
  const drafts: ReadinessDraft[] = [];
  // A version is only known while the member runs; a stopped PostgreSQL has none, which is not a change.
  if (was.patroniVersion && now.patroniVersion && was.patroniVersion !== now.patroniVersion) {
    drafts.push({ type: 'version_changed', member, component: 'patroni', from: was.patroniVersion, to: now.patroniVersion });
  }
  if (was.serverVersion && now.serverVersion && was.serverVersion !== now.serverVersion) {
    drafts.push({
      type: 'version_changed',
      member,
      component: 'postgresql',
      from: String(was.serverVersion),
      to: String(now.serverVersion),
    });
  }
  return drafts;
}

function trackSchedule(
  before: ReadinessMemory['scheduled'],
  poll: ReadinessPoll,
): { scheduled: ReadinessMemory['scheduled']; drafts: ReadinessDraft[]; scheduledAt: string | null } {
  const shown = poll.view.scheduledSwitchover;
  if (shown) {
    const isNew = !before || before.at !== shown.at || before.from !== shown.from || before.to !== shown.to;
    const drafts: ReadinessDraft[] = isNew ? [{ type: 'scheduled_action', action: 'switchover', member: null, ...shown }] : [];
    // Patroni removes the schedule as it starts the switchover: a leader change in the same poll is the scheduled one.
    return { scheduled: { ...shown, goneAt: null }, drafts, scheduledAt: poll.leaderChanged ? shown.at : null };
  }
  if (!before) return { scheduled: null, drafts: [], scheduledAt: null };
  const goneAt = before.goneAt ?? poll.now;
  if (poll.leaderChanged && poll.now - goneAt <= SCHEDULED_MATCH_MS) return { scheduled: null, drafts: [], scheduledAt: before.at };
  return { scheduled: poll.now - goneAt > SCHEDULED_MATCH_MS ? null : { ...before, goneAt }, drafts: [], scheduledAt: null };
}

function trackDcsSeen(before: ReadinessMemory['dcsSeen'], poll: ReadinessPoll): Record<string, { value: number; since: number }> {
  const seen: Record<string, { value: number; since: number }> = {};
  for (const [member, report] of poll.reports) {
    if (report.dcsLastSeen === null) continue;
    const was = ownValue(before, member);
    seen[member] = was && was.value === report.dcsLastSeen ? was : { value: report.dcsLastSeen, since: poll.now };
  }
  return seen;
}

/** When an ended condition began, and how long it lasted: what every end event carries. */
const endOf = (ended: ConditionMemory, now: number) => ({ since: ended.since, afterMs: now - ended.since });

interface Judged {
  readonly conditions: Partial<Record<ConditionName, ConditionMemory>>;
  readonly lagging: Record<string, ConditionMemory>;
  readonly drafts: ReadinessDraft[];
}

/** A condition's next memory and whether this poll records its start: held for `holdMs` over two polls. */
function step(
  was: ConditionMemory | undefined,
  holds: boolean,
  now: number,
  holdMs: number,
): { memory: ConditionMemory | undefined; starts: boolean; ends: ConditionMemory | null } {
  if (!holds) return { memory: undefined, starts: false, ends: was?.reported ? was : null };
  const since = was?.since ?? now;
  const confirmed = was !== undefined && now - since >= holdMs;
  const starts = confirmed && !was.reported;
  return { memory: { ...was, since, reported: was?.reported === true || starts }, starts, ends: null };
}

/** A poll with the settings it is judged by: this poll's `/config`, else the one remembered. */
type JudgedPoll = ReadinessPoll & Pick<ReadinessInput, 'settings'>;

function judge(memory: ReadinessMemory, poll: JudgedPoll, dcsSeen: ReadinessMemory['dcsSeen'], policy: ReadinessPolicy): Judged {
  const assessment = assessReadiness(poll);
  const settling = poll.promotedAt !== null && poll.now - poll.promotedAt < policy.settleAfterPromotionMs;
  const out: Judged = { conditions: {}, lagging: {}, drafts: [] };
  judgeReadiness(out, memory.conditions.readiness, { assessment, poll, settling, policy });
  judgePromotion(out, memory.conditions.promotion, { assessment, poll, settling, policy });
  judgeLock(out, memory.conditions, { assessment, poll, settling, policy }, dcsSeen);
  judgeSync(out, memory.conditions.sync, { assessment, poll, settling, policy });
  judgeRedundancy(out, memory.conditions.redundancy, { assessment, poll, settling, policy });
  judgeLag(out, memory.lagging, { assessment, poll, settling, policy });
  return out;
}

/** Members named in one event, at most: a `/cluster` listing hundreds of strangers stays one readable event. */
const MAX_LISTED = 20;
const listed = (exclusions: readonly Exclusion[]) => exclusions.slice(0, MAX_LISTED);

interface Facts {
  readonly assessment: ReadinessAssessment;
  readonly poll: JudgedPoll;
  readonly settling: boolean;
  readonly policy: ReadinessPolicy;
}

function judgeReadiness(out: Judged, was: ConditionMemory | undefined, facts: Facts): void {
  const { assessment, poll, settling, policy } = facts;
  // While settling, an open finding stays as it is: replicas restarting after a promotion neither prove nor end it.
  if (settling && !was?.reported) return;
  const noCandidate = assessment.candidates.length === 0;
  const next = step(was, noCandidate, poll.now, policy.confirmAfterMs);
  const lost = { leader: assessment.leader, candidates: assessment.candidates, excluded: listed(assessment.excluded) };
  if (next.starts && next.memory) out.drafts.push({ type: 'failover_readiness_lost', level: 'warning', ...lost, since: next.memory.since });
  if (next.memory?.reported && !next.memory.critical && poll.now - next.memory.since >= policy.criticalAfterMs) {
    out.drafts.push({ type: 'failover_readiness_lost', level: 'critical', ...lost, since: next.memory.since });
    out.conditions.readiness = { ...next.memory, critical: true };
    return;
  }
  if (next.ends) {
    out.drafts.push({
      type: 'failover_readiness_restored',
      leader: assessment.leader,
      candidates: assessment.candidates,
      ...endOf(next.ends, poll.now),
    });
  }
  if (next.memory) out.conditions.readiness = next.memory;
}

function judgePromotion(out: Judged, was: ConditionMemory | undefined, facts: Facts): void {
  const { assessment, poll } = facts;
  const loopWait = poll.settings?.loopWait ?? PATRONI_DEFAULTS.loopWait;
  const stuck = assessment.leaderNotPrimary;
  const next = step(was, stuck !== null, poll.now, loopWait * 1000);
  if (next.starts && next.memory && stuck) {
    out.drafts.push({
      type: 'promotion_stuck',
      member: assessment.leader,
      role: stuck.role,
      state: stuck.state,
      since: next.memory.since,
      loopWaitSeconds: loopWait,
    });
  }
  if (next.memory) out.conditions.promotion = next.memory;
}

function judgeLock(out: Judged, was: ReadinessMemory['conditions'], facts: Facts, dcsSeen: ReadinessMemory['dcsSeen']): void {
  const { assessment, poll, policy } = facts;
  const ttl = poll.settings?.ttl ?? PATRONI_DEFAULTS.ttl;
  const loopWait = poll.settings?.loopWait ?? PATRONI_DEFAULTS.loopWait;
  const thresholdMs = (ttl - loopWait) * 1000;
  const failsafeMode = poll.settings?.failsafeMode === true;
  const ages = Object.entries(dcsSeen).map(([member, seen]) => ({ member, ageMs: poll.now - seen.since }));
  const leaderAge = ages.find((a) => a.member === assessment.leader)?.ageMs ?? null;
  const allStale = ages.length > 0 && ages.every((a) => a.ageMs > thresholdMs);
  const dcs = step(was.dcs, allStale, poll.now, policy.confirmAfterMs);
  if (dcs.starts && dcs.memory) {
    const unrenewedForMs = Math.min(...ages.map((a) => a.ageMs));
    out.drafts.push({ type: 'dcs_unreachable', members: ages.map((a) => a.member), unrenewedForMs, failsafeMode, since: dcs.memory.since });
  }
  if (dcs.ends) out.drafts.push({ type: 'dcs_reachable', ...endOf(dcs.ends, poll.now) });
  if (dcs.memory) out.conditions.dcs = dcs.memory;
  // With the whole DCS gone, the leader's own lock is part of that finding, not a second one.
  const lockAtRisk = !allStale && leaderAge !== null && leaderAge > thresholdMs;
  const lock = step(was.lock, lockAtRisk, poll.now, policy.confirmAfterMs);
  if (lock.starts && lock.memory && leaderAge !== null) {
    out.drafts.push({
      type: 'leader_lock_at_risk',
      leader: assessment.leader,
      unrenewedForMs: leaderAge,
      thresholdMs,
      failsafeMode,
      since: lock.memory.since,
    });
  }
  if (lock.ends) out.drafts.push({ type: 'leader_lock_renewed', leader: assessment.leader, ...endOf(lock.ends, poll.now) });
  if (lock.memory) out.conditions.lock = lock.memory;
}

function judgeSync(out: Judged, was: ConditionMemory | undefined, facts: Facts): void {
  const { assessment, poll, policy } = facts;
  const next = step(was, assessment.commitsStalled, poll.now, policy.confirmAfterMs);
  if (next.starts && next.memory) {
    out.drafts.push({
      type: 'sync_commit_stalled',
      leader: assessment.leader,
      excluded: listed(assessment.excluded),
      since: next.memory.since,
    });
  }
  if (next.ends) {
    out.drafts.push({
      type: 'sync_commit_resumed',
      leader: assessment.leader,
      syncStandbys: assessment.syncStandbys,
      ...endOf(next.ends, poll.now),
    });
  }
  if (next.memory) out.conditions.sync = next.memory;
}

function judgeRedundancy(out: Judged, was: ConditionMemory | undefined, facts: Facts): void {
  const { assessment, poll, settling, policy } = facts;
  if (settling && !was?.reported) return;
  const below = assessment.healthyReplicas.length < policy.minReplicas;
  const next = step(was, below, poll.now, policy.confirmAfterMs);
  if (next.starts && next.memory) {
    const unhealthy = assessment.excluded.filter((e) => !assessment.healthyReplicas.includes(e.member));
    out.drafts.push({
      type: 'redundancy_lost',
      leader: assessment.leader,
      timeline: assessment.timeline,
      healthy: assessment.healthyReplicas,
      minimum: policy.minReplicas,
      excluded: listed(unhealthy),
      since: next.memory.since,
    });
  }
  if (next.ends && !poll.redundancyRestored && assessment.timeline !== null) {
    out.drafts.push({
      type: 'redundancy_restored',
      leader: assessment.leader,
      timeline: assessment.timeline,
      replicas: assessment.healthyReplicas,
      afterMs: poll.now - next.ends.since,
      lostSince: next.ends.since,
    });
  }
  if (next.memory) out.conditions.redundancy = next.memory;
}

function judgeLag(out: Judged, was: ReadinessMemory['lagging'], facts: Facts): void {
  const { assessment, poll, settling, policy } = facts;
  const threshold = policy.lagBytes ?? poll.settings?.maximumLagOnFailover ?? PATRONI_DEFAULTS.maximumLagOnFailover;
  // Members that answered the poller: a `/cluster` listing hundreds of strangers must not grow the state with them.
  const members = new Set([...Object.keys(was), ...Object.keys(assessment.lagBytes).filter((m) => poll.reports.has(m))]);
  for (const member of members) {
    const lag = ownValue(assessment.lagBytes, member) ?? null;
    const previous = ownValue(was, member);
    if (settling && !previous?.reported) continue;
    const next = step(previous, lag !== null && lag > threshold, poll.now, policy.lagAfterMs);
    if (next.starts && next.memory && lag !== null) {
      const replayPaused = poll.reports.get(member)?.replayPaused === true;
      out.drafts.push({
        type: 'replica_lagging',
        member,
        lagBytes: lag,
        thresholdBytes: threshold,
        replayPaused,
        since: next.memory.since,
      });
    }
    if (next.ends) out.drafts.push({ type: 'replica_caught_up', member, lagBytes: lag, ...endOf(next.ends, poll.now) });
    if (next.memory) out.lagging[member] = next.memory;
  }
}

/** The fields of the memory whose change must be written to the store (not the dcs_last_seen clock, which moves every loop). */
export function readinessFingerprint(memory: ReadinessMemory | undefined): unknown {
  if (!memory) return null;
  return [memory.settings?.flat ?? null, memory.conditions, memory.lagging, memory.members, memory.scheduled];
}
