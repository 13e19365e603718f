import type { ClusterEvent, OutageBounds } from './events.js';
import { leaderPostgresLost } from './model.js';
import { isWriteLossEvidence } from './writeLoss.js';

/**
 * The anatomy of one incident (pure): where the seconds of a write outage went, why the failover happened, and
 * whether it took as long as the cluster's settings predict. Built by the probe from the events the poller
 * recorded, the probe's own writes, and what HAProxy and Patroni's `/config` said; nothing is invented: a
 * milestone no source could time is "not observed", with the reason.
 */

/** Why writes were lost: the failure that started the incident. */
export type FailoverCause = 'unreachable' | 'postgres_crashed' | 'dcs_lost' | 'planned' | 'unknown';

/** The instants of an incident, in the order they happen. */
export type MilestoneName =
  | 'last_healthy'
  | 'trouble_seen'
  | 'lock_gone'
  | 'promoted'
  | 'writable_direct'
  | 'vip_routes'
  | 'first_good_write'
  | 'writes_stable';

export const MILESTONE_ORDER: readonly MilestoneName[] = [
  'last_healthy',
  'trouble_seen',
  'lock_gone',
  'promoted',
  'writable_direct',
  'vip_routes',
  'first_good_write',
  'writes_stable',
];

export interface Milestone {
  readonly name: MilestoneName;
  /** Epoch ms; null when not observed. */
  readonly at: number | null;
  /** Where the time came from (an event id, Patroni's `/history`, HAProxy's stats), or why it is not observed. */
  readonly evidence: string;
}

/** The time between one observed milestone and the next: what the seconds were spent on. */
export interface Phase {
  readonly name: PhaseName;
  /** The milestone it ends at (it starts at the previous observed one). */
  readonly endsAt: MilestoneName;
  readonly durationMs: number;
  /** For people: "waiting for the leader key to expire (ttl 30)". */
  readonly label: string;
}

export type PhaseName = 'detection' | 'leader_key' | 'promotion' | 'new_primary' | 'haproxy' | 'vip_path' | 'flapping';

/** Patroni's settings that shape a failover, from `/config`; a key `/config` did not give is absent. */
export interface PatroniSettings {
  readonly ttl?: number;
  readonly loopWait?: number;
  readonly retryTimeout?: number;
  readonly primaryStartTimeout?: number;
  readonly maximumLagOnFailover?: number;
}

export interface HaproxyTimings {
  readonly interSeconds: number;
  readonly fall: number;
  readonly rise: number;
  /** True when the cluster's config does not give them and the sample haproxy.cfg's are assumed. */
  readonly assumed: boolean;
}

/** An observation that may be missing, with the reason. */
export type Observed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly note: string };

export interface DirectWrite {
  /** Epoch ms of the first write that worked on the new leader's own PostgreSQL. */
  readonly at: number;
  readonly member: string;
  readonly address: string;
}

export interface HaproxyRouting {
  /** Epoch ms when HAProxy marked the new leader's server UP (its stats' `lastchg`, to the second). */
  readonly upAt: number;
  readonly server: string;
}

export interface PredictedOutage {
  readonly minMs: number;
  readonly maxMs: number;
  /** The formula with the settings put in, for people and for the audit. */
  readonly formula: string;
}

export interface IncidentAnatomy {
  readonly cause: { readonly kind: FailoverCause; readonly detail: string; readonly eventIds: readonly string[] };
  readonly milestones: readonly Milestone[];
  readonly phases: readonly Phase[];
  /** From the last healthy poll to writes stable: the phases add up to it. */
  readonly outageMs: number;
  /** The best estimate: from the middle of the outage's start bounds to writes stable. */
  readonly estimatedOutageMs: number;
  /** The outage's bounds as the probe measured them (its `downtimeMinMs` and `downtimeMaxMs`). */
  readonly outageBoundsMs: { readonly min: number; readonly max: number };
  readonly predicted: PredictedOutage | null;
  /** Why there is no prediction, or what it assumed. */
  readonly predictionNote: string | null;
  /**
   * The outage was certainly longer than predicted: even its lower bound exceeds the predicted maximum (a poller
   * that was blind for a while widens the bounds, and must not make an incident look slow). Null without a prediction.
   */
  readonly longerThanPredicted: boolean | null;
  readonly settings: PatroniSettings | null;
  readonly haproxy: HaproxyTimings;
}

export interface AnatomyInput {
  readonly trigger: ClusterEvent;
  /** The cluster's events around the incident, any order. */
  readonly events: readonly ClusterEvent[];
  readonly verdict: { readonly restoredAt: number; readonly firstGoodWriteAt: number; readonly outage: OutageBounds };
  readonly direct: Observed<DirectWrite>;
  readonly routing: Observed<HaproxyRouting>;
  readonly settings: Observed<PatroniSettings>;
  readonly haproxy: HaproxyTimings;
}

/** Patroni's sample haproxy.cfg: `default-server inter 3s fall 3 rise 2`. */
export const SAMPLE_HAPROXY_TIMINGS: HaproxyTimings = { interSeconds: 3, fall: 3, rise: 2, assumed: true };

/**
 * A replica takes the free leader key and promotes itself within this long: Patroni watches the key in the DCS
 * and wakes at once, then runs `pg_ctl promote`.
 */
export const PROMOTION_ALLOWANCE_MS = 2_000;

/** A crashed PostgreSQL restarted in place by Patroni (crash recovery of a small database); longer with more WAL. */
export const RESTART_ALLOWANCE_MS = 5_000;

type LeaderChanged = Extract<ClusterEvent, { type: 'leader_changed' }>;

export function incidentAnatomy(input: AnatomyInput): IncidentAnatomy {
  const window = incidentEvents(input);
  const cause = causeOf(window);
  const milestones = orderMilestones(rawMilestones(input, window));
  const settings = input.settings.ok ? input.settings.value : null;
  const lockExpired = lockWasExpired(milestones, settings);
  const phases = phasesOf(milestones, { settings, lockExpired, routingObserved: input.routing.ok });
  const first = milestones[0]!.at!;
  const outageMs = milestones.at(-1)!.at! - first;
  const { startedAfter, startedBefore, downtimeMinMs, downtimeMaxMs } = input.verdict.outage;
  const estimatedOutageMs = Math.max(0, input.verdict.restoredAt - (startedAfter + startedBefore) / 2);
  const prediction = predictOutage(cause.kind, { settings: input.settings, haproxy: input.haproxy, lockExpired, window });
  return {
    cause,
    milestones,
    phases,
    outageMs,
    estimatedOutageMs,
    outageBoundsMs: { min: downtimeMinMs, max: downtimeMaxMs },
    predicted: prediction.predicted,
    predictionNote: prediction.note,
    longerThanPredicted: prediction.predicted ? downtimeMinMs > prediction.predicted.maxMs : null,
    settings,
    haproxy: input.haproxy,
  };
}

/** The events of this incident: from the last healthy poll to the restore, oldest first. */
function incidentEvents(input: AnatomyInput): ClusterEvent[] {
  const from = input.verdict.outage.startedAfter;
  return input.events
    .filter((e) => e.cluster === input.trigger.cluster && e.observedAt >= from && e.observedAt <= input.verdict.restoredAt + 60_000)
    .sort((a, b) => a.observedAt - b.observedAt || a.id.localeCompare(b.id));
}

function firstLeaderChange(events: readonly ClusterEvent[]): LeaderChanged | undefined {
  return events.find((e): e is LeaderChanged => e.type === 'leader_changed' && !e.reconciled);
}

/** The first event that said writes may be failing. */
function firstTrouble(events: readonly ClusterEvent[]): ClusterEvent | undefined {
  return events.find((e) => isWriteLossEvidence(e) && e.type !== 'timeline_changed' && e.type !== 'leader_restored');
}

/** The cause from the leader change's evidence, else from the first sign of trouble. */
export function causeOf(events: readonly ClusterEvent[]): IncidentAnatomy['cause'] {
  const change = firstLeaderChange(events);
  if (change?.kind === 'switchover') {
    return {
      kind: 'planned',
      detail: `planned switchover ${change.from ?? '?'} → ${change.to}: ${change.evidence.detail}`,
      eventIds: [change.id],
    };
  }
  if (change?.evidence.cause === 'old_leader_unreachable') return fromChange(change, 'unreachable');
  if (change?.evidence.cause === 'old_leader_postgres_down') return fromChange(change, 'postgres_crashed');
  if (change?.evidence.cause === 'old_leader_still_primary') return fromChange(change, 'dcs_lost');
  const trouble = events.filter((e) => isWriteLossEvidence(e) && e.observedAt <= (change?.observedAt ?? Number.POSITIVE_INFINITY));
  for (const event of trouble) {
    const kind = causeOfTrouble(event, events);
    if (kind) return { kind: kind.kind, detail: kind.detail, eventIds: [event.id, ...(change ? [change.id] : [])] };
  }
  return { kind: 'unknown', detail: 'no event said why writes were lost', eventIds: change ? [change.id] : [] };
}

function fromChange(change: LeaderChanged, kind: FailoverCause): IncidentAnatomy['cause'] {
  return { kind, detail: `${change.evidence.detail} (failover ${change.from ?? '?'} → ${change.to})`, eventIds: [change.id] };
}

function causeOfTrouble(event: ClusterEvent, events: readonly ClusterEvent[]): { kind: FailoverCause; detail: string } | null {
  switch (event.type) {
    case 'member_unreachable':
      return { kind: 'unreachable', detail: `leader ${event.member} unreachable: ${event.error}` };
    case 'member_state_changed':
      // `stopping` is Patroni stopping PostgreSQL itself (a demotion, a shutdown): the next event says why.
      return leaderPostgresLost(event)
        ? { kind: 'postgres_crashed', detail: `leader ${event.member}'s PostgreSQL ${event.from} → ${event.to}` }
        : null;
    case 'member_role_changed':
      return {
        kind: 'dcs_lost',
        detail: `leader ${event.member} demoted itself (${event.from} → ${event.to}) while its Patroni kept answering: it lost its DCS lock`,
      };
    case 'no_leader': {
      const unreachable = events.some((e) => e.type === 'member_unreachable' && e.member === event.lastLeader);
      if (unreachable) return { kind: 'unreachable', detail: `no leader after ${event.lastLeader ?? '?'} became unreachable` };
      return { kind: 'dcs_lost', detail: `no member holds the leader key while ${event.lastLeader ?? 'the last leader'} still answers` };
    }
    default:
      return null;
  }
}

function eventMilestone(name: MilestoneName, event: ClusterEvent | undefined, what: string): Milestone {
  return event
    ? { name, at: event.observedAt, evidence: `${event.type} ${event.id}: the poll that saw ${what}` }
    : { name, at: null, evidence: `not observed: no event showed ${what}` };
}

function rawMilestones(input: AnatomyInput, events: readonly ClusterEvent[]): Milestone[] {
  const { outage, restoredAt, firstGoodWriteAt } = input.verdict;
  const change = firstLeaderChange(events);
  const lockGone = events.find((e) => e.type === 'no_leader' || (e.type === 'leader_changed' && !e.reconciled));
  return [
    { name: 'last_healthy', at: outage.startedAfter, evidence: 'the last poll that saw a running leader' },
    eventMilestone('trouble_seen', firstTrouble(events), 'trouble'),
    eventMilestone('lock_gone', lockGone, 'the leader lock gone (no leader, or a new one)'),
    promotedMilestone(events, change),
    input.direct.ok
      ? {
          name: 'writable_direct',
          at: input.direct.value.at,
          evidence: `a probe write to ${input.direct.value.member}'s own PostgreSQL (${input.direct.value.address})`,
        }
      : { name: 'writable_direct', at: null, evidence: `not observed: ${input.direct.note}` },
    input.routing.ok
      ? {
          name: 'vip_routes',
          at: input.routing.value.upAt,
          evidence: `HAProxy stats: server ${input.routing.value.server} UP (lastchg, to the second)`,
        }
      : { name: 'vip_routes', at: null, evidence: `not observed: ${input.routing.note}` },
    { name: 'first_good_write', at: firstGoodWriteAt, evidence: 'the probe: first write through the VIP that worked' },
    { name: 'writes_stable', at: restoredAt, evidence: 'the probe: first write of the final unbroken run of good ones' },
  ];
}

/** Patroni's own promotion time from `/history` where it gave one, else the poll that saw the new timeline. */
function promotedMilestone(events: readonly ClusterEvent[], change: LeaderChanged | undefined): Milestone {
  const timeline = events.find((e) => e.type === 'timeline_changed');
  const stamped = [change, timeline].find((e) => e?.happenedAt && Number.isFinite(Date.parse(e.happenedAt)));
  if (stamped) {
    return {
      name: 'promoted',
      at: Date.parse(stamped.happenedAt!),
      evidence: `Patroni's /history timestamp (${stamped.type} ${stamped.id})`,
    };
  }
  const promoted = change?.newTimeline !== null && change !== undefined ? change : timeline;
  return eventMilestone('promoted', promoted, 'the new timeline');
}

/**
 * Milestones whose time is an upper bound, "it had happened by then": the polls that saw trouble, the lock gone or
 * the new timeline, the direct-write sample (every half second) and HAProxy's `lastchg` (whole seconds). A precise
 * later milestone pulls them earlier.
 */
const UPPER_BOUNDS = new Set<MilestoneName>(['trouble_seen', 'lock_gone', 'promoted', 'vip_routes', 'writable_direct']);

/**
 * Puts the instants in order. An upper-bound milestone that comes after a later precise one moves back to it;
 * then no milestone may precede the one before it. The first and last are the outage's bounds.
 */
function orderMilestones(raw: readonly Milestone[]): Milestone[] {
  const out = raw.map((m) => ({ ...m }));
  let next = out.at(-1)!.at!;
  for (let i = out.length - 2; i > 0; i--) {
    const m = out[i]!;
    if (m.at === null) continue;
    if (UPPER_BOUNDS.has(m.name) && m.at > next)
      out[i] = { ...m, at: next, evidence: `${m.evidence}; happened no later than ${nameOf(out, next)}` };
    next = out[i]!.at!;
  }
  let previous = out[0]!.at!;
  for (let i = 1; i < out.length; i++) {
    const m = out[i]!;
    if (m.at === null) continue;
    if (m.at < previous) out[i] = { ...m, at: previous, evidence: `${m.evidence}; clamped to the milestone before it` };
    previous = out[i]!.at!;
  }
  return out;
}

function nameOf(milestones: readonly Milestone[], at: number): string {
  return milestones.find((m) => m.at === at && m.name !== 'last_healthy')?.name ?? 'the next milestone';
}

/** The leader key expired (the leader stopped renewing it) rather than being released on a clean shutdown. */
function lockWasExpired(milestones: readonly Milestone[], settings: PatroniSettings | null): boolean | null {
  const last = milestones[0]!.at!;
  const gone = milestones.find((m) => m.name === 'lock_gone')?.at ?? null;
  if (gone === null || settings?.ttl === undefined || settings.loopWait === undefined) return null;
  return gone - last >= (settings.ttl - settings.loopWait) * 1000;
}

const PHASE_OF: Record<Exclude<MilestoneName, 'last_healthy'>, PhaseName> = {
  trouble_seen: 'detection',
  lock_gone: 'leader_key',
  promoted: 'promotion',
  writable_direct: 'new_primary',
  vip_routes: 'haproxy',
  first_good_write: 'vip_path',
  writes_stable: 'flapping',
};

function phaseLabel(
  name: PhaseName,
  context: { settings: PatroniSettings | null; lockExpired: boolean | null; routingObserved: boolean },
): string {
  switch (name) {
    case 'detection':
      return 'until a poll saw trouble';
    case 'leader_key':
      if (context.lockExpired === true) return `waiting for the leader key to expire (ttl ${context.settings?.ttl})`;
      if (context.lockExpired === false) return 'the leader key released';
      return 'until the leader key was gone';
    case 'promotion':
      return 'promotion';
    case 'new_primary':
      return 'until the new primary took writes';
    case 'haproxy':
      return 'HAProxy marking the new primary UP';
    case 'vip_path':
      return context.routingObserved ? 'the VIP path' : 'HAProxy';
    case 'flapping':
      return 'HAProxy still balancing to the old primary';
  }
}

function phasesOf(
  milestones: readonly Milestone[],
  context: { settings: PatroniSettings | null; lockExpired: boolean | null; routingObserved: boolean },
): Phase[] {
  const phases: Phase[] = [];
  let previous = milestones[0]!.at!;
  for (const m of milestones.slice(1)) {
    if (m.at === null || m.name === 'last_healthy') continue;
    const name = PHASE_OF[m.name];
    phases.push({ name, endsAt: m.name, durationMs: m.at - previous, label: phaseLabel(name, context) });
    previous = m.at;
  }
  return phases;
}

/** The phase that took longest: what a one-line summary names. */
export function longestPhase(anatomy: IncidentAnatomy): Phase | undefined {
  return [...anatomy.phases].sort((a, b) => b.durationMs - a.durationMs)[0];
}

interface PredictionContext {
  readonly settings: Observed<PatroniSettings>;
  readonly haproxy: HaproxyTimings;
  readonly lockExpired: boolean | null;
  readonly window: readonly ClusterEvent[];
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * The outage a cluster's settings predict for a cause, from the failure to writes stable (docs/anatomy.md has
 * the derivation). HAProxy marks the new primary UP after `rise` good checks and the old one DOWN after `fall`
 * failed ones; writes are back for good when both have happened.
 */
export function predictOutage(
  cause: FailoverCause,
  context: PredictionContext,
): { predicted: PredictedOutage | null; note: string | null } {
  if (cause === 'unknown') return { predicted: null, note: 'no prediction: the cause is unknown' };
  if (cause === 'dcs_lost') {
    return {
      predicted: null,
      note: 'no prediction: writes come back when the DCS does; Patroni demotes a primary that cannot renew its lock within retry_timeout',
    };
  }
  if (!context.settings.ok) return { predicted: null, note: `no prediction: ${context.settings.note}` };
  const { ttl, loopWait } = context.settings.value;
  if (ttl === undefined || loopWait === undefined) {
    return { predicted: null, note: 'no prediction: /config did not give ttl and loop_wait' };
  }
  const h = context.haproxy;
  const inter = h.interSeconds * 1000;
  const assumed = h.assumed ? "HAProxy timings not configured: assumed Patroni's sample (inter 3s fall 3 rise 2)" : null;
  const routing = { min: (Math.max(h.rise, h.fall) - 1) * inter, max: Math.max(h.rise, h.fall) * inter + inter };
  const routingText = `max(rise ${h.rise}, fall ${h.fall}) × inter ${h.interSeconds} s`;
  let predicted: PredictedOutage;
  if (cause === 'unreachable' && context.lockExpired !== false) {
    // The leader stopped renewing its key: it expires ttl after the last renewal, which was up to loop_wait ago.
    predicted = {
      minMs: (ttl - loopWait) * 1000 + (h.rise - 1) * inter,
      maxMs: ttl * 1000 + PROMOTION_ALLOWANCE_MS + h.rise * inter + inter,
      formula: `ttl ${ttl} − loop_wait ${loopWait} + (rise − 1) × inter .. ttl ${ttl} + promotion ${s(PROMOTION_ALLOWANCE_MS)} + (rise + 1) × inter ${h.interSeconds} s`,
    };
  } else if (cause === 'postgres_crashed') {
    const restartedInPlace = !context.window.some((e) => e.type === 'leader_changed');
    const recovery = restartedInPlace ? RESTART_ALLOWANCE_MS : PROMOTION_ALLOWANCE_MS;
    predicted = {
      minMs: (Math.min(h.rise, h.fall) - 1) * inter,
      maxMs: loopWait * 1000 + recovery + (h.rise + h.fall) * inter + inter,
      formula: `Patroni notices within loop_wait ${loopWait} s, then ${restartedInPlace ? `restarts PostgreSQL in place (${s(RESTART_ALLOWANCE_MS)})` : `fails over (${s(PROMOTION_ALLOWANCE_MS)})`}, then (rise + fall + 1) × inter ${h.interSeconds} s`,
    };
  } else {
    // A planned switchover or a clean shutdown: the key is released and a replica promotes at once.
    predicted = {
      minMs: routing.min,
      maxMs: PROMOTION_ALLOWANCE_MS + routing.max,
      formula: `${cause === 'planned' ? 'switchover' : 'leader key released'}: (max(rise, fall) − 1) × inter .. promotion ${s(PROMOTION_ALLOWANCE_MS)} + ${routingText} + inter`,
    };
  }
  return { predicted, note: assumed };
}

const CAUSE_WORDS: Record<FailoverCause, string> = {
  unreachable: 'leader host or Patroni unreachable',
  postgres_crashed: "leader's PostgreSQL crashed",
  dcs_lost: 'leader lost its DCS lock',
  planned: 'planned switchover',
  unknown: 'cause unknown',
};

export function causeWords(cause: FailoverCause): string {
  return CAUSE_WORDS[cause];
}

/**
 * One line for a page: the outage, its longest phases, the cause, and the prediction when it was exceeded.
 * @example "20.4 s write outage: 19.6 s waiting for the leader key to expire (ttl 30), 0.5 s promotion, 0.3 s HAProxy; cause: leader host or Patroni unreachable"
 */
export function anatomySummary(anatomy: IncidentAnatomy): string {
  const phases = [...anatomy.phases]
    .filter((p) => p.durationMs >= 50)
    .sort((a, b) => b.durationMs - a.durationMs)
    .slice(0, 3)
    .map((p) => `${s(p.durationMs)} ${p.label}`);
  const over =
    anatomy.longerThanPredicted && anatomy.predicted
      ? `; LONGER THAN PREDICTED (${s(anatomy.predicted.minMs)}-${s(anatomy.predicted.maxMs)} for this cause and these settings)`
      : '';
  return `${outageWords(anatomy)} write outage: ${phases.join(', ') || 'no phase longer than 50 ms'}; cause: ${causeWords(anatomy.cause.kind)}${over}`;
}

/** The best estimate where the bounds are close (the poller watched); the bounds where they are not. */
function outageWords(anatomy: IncidentAnatomy): string {
  const { min, max } = anatomy.outageBoundsMs;
  return max - min <= 2_000 ? s(anatomy.estimatedOutageMs) : `${s(min)}-${s(max)}`;
}
