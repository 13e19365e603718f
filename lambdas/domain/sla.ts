import type { IncidentAnatomy } from './anatomy.js';
import { type Coverage, complement, intersect } from './coverage.js';
import type { ClusterEvent, LeaderChangeKind } from './events.js';

/**
 * Incidents and availability from the recorded events (pure). The probe's verdicts carry measured outage bounds;
 * a leader change without a verdict (no VIP configured) becomes an unmeasured incident with the widest honest bounds.
 */

export interface Interval {
  readonly start: number;
  readonly end: number;
}

export interface Incident {
  readonly cluster: string;
  /** The id of the event that opened it. */
  readonly id: string;
  readonly kind: LeaderChangeKind;
  /** A switchover: planned downtime, which an SLO policy may exclude (`excludePlanned`). */
  readonly planned: boolean;
  /** Best estimate, epoch ms: the middle of the start bounds. */
  readonly start: number;
  /** Best estimate; null while writes have not come back. */
  readonly end: number | null;
  readonly downtimeMs: number;
  readonly downtimeMinMs: number;
  readonly downtimeMaxMs: number;
  /** `write_verified` / `write_unavailable` measured it; `unmeasured` when no probe did. */
  readonly measuredBy: 'write_verified' | 'write_unavailable' | 'unmeasured';
  readonly from: string | null;
  readonly to: string | null;
  /** WAL the old leader wrote past the switch point: a lower bound on data lost. */
  readonly walBytesAtRisk: number | null;
  /** Phases, cause and prediction, where the probe's verdict recorded them. */
  readonly anatomy: IncidentAnatomy | null;
  /** When every other member streamed from the new leader again (`redundancy_restored`), if that was seen. */
  readonly redundancyRestoredAt?: number | null;
}

type LeaderChanged = Extract<ClusterEvent, { type: 'leader_changed' }>;
type Verdict = Extract<ClusterEvent, { type: 'write_verified' | 'write_unavailable' }>;

/** A leader change belongs to an incident when it was observed within this long of its outage. */
const ATTRIBUTION_SLACK_MS = 60_000;

function isVerdict(event: ClusterEvent): event is Verdict {
  return event.type === 'write_verified' || event.type === 'write_unavailable';
}

/** The incidents of the events given (any clusters), oldest first. */
export function incidentsFromEvents(events: readonly ClusterEvent[]): Incident[] {
  const byCluster = new Map<string, ClusterEvent[]>();
  for (const event of events) {
    const list = byCluster.get(event.cluster) ?? [];
    list.push(event);
    byCluster.set(event.cluster, list);
  }
  return [...byCluster.values()].flatMap(clusterIncidents).sort((a, b) => a.start - b.start);
}

function clusterIncidents(events: readonly ClusterEvent[]): Incident[] {
  const sorted = [...events].sort((a, b) => a.observedAt - b.observedAt);
  const verdicts = sorted.filter(isVerdict);
  const changes = sorted.filter((e): e is LeaderChanged => e.type === 'leader_changed' && !e.reconciled);
  const claimed = new Set<string>();
  const measured = verdicts.map((verdict, i) => {
    const later = verdicts.slice(i + 1).find((v) => v.type === 'write_verified');
    const { incident, change } = fromVerdict(verdict, later, changes);
    if (change) claimed.add(change.id);
    return incident;
  });
  const unmeasured = changes.filter((c) => !claimed.has(c.id) && !coveredBy(c, measured)).map((c) => fromLeaderChange(c, sorted));
  const restored = sorted.filter((e) => e.type === 'redundancy_restored');
  return mergeOverlapping([...measured, ...unmeasured]).map((incident) => withRedundancy(incident, restored));
}

/** Redundancy comes back after the writes, often after the verdict: the first `redundancy_restored` within 30 min. */
const REDUNDANCY_WINDOW_MS = 30 * 60_000;

function withRedundancy(incident: Incident, restored: readonly ClusterEvent[]): Incident {
  const from = incident.end ?? incident.start;
  const event = restored.find((e) => e.observedAt >= incident.start && e.observedAt <= from + REDUNDANCY_WINDOW_MS);
  return { ...incident, redundancyRestoredAt: event?.observedAt ?? null };
}

const KIND_WEIGHT: Record<LeaderChangeKind, number> = { failover: 2, unknown: 1, switchover: 0 };

/** One cluster's incidents that overlap in time are one incident: the writes were down once. */
function mergeOverlapping(incidents: readonly Incident[]): Incident[] {
  const merged: Incident[] = [];
  for (const next of [...incidents].sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (!last || (last.end !== null && next.start > last.end)) {
      merged.push(next);
      continue;
    }
    const end = last.end === null || next.end === null ? null : Math.max(last.end, next.end);
    const span = end === null ? null : end - last.start;
    const kind = KIND_WEIGHT[next.kind] > KIND_WEIGHT[last.kind] ? next.kind : last.kind;
    const minMs = Math.max(last.downtimeMinMs, next.downtimeMinMs);
    const maxMs = Math.max(last.downtimeMaxMs, next.downtimeMaxMs, span ?? 0);
    merged[merged.length - 1] = {
      ...last,
      kind,
      planned: last.planned && next.planned,
      end,
      downtimeMs: span === null ? maxMs : clamp(span, minMs, maxMs),
      downtimeMinMs: minMs,
      downtimeMaxMs: maxMs,
      from: last.from ?? next.from,
      to: next.to ?? last.to,
      walBytesAtRisk:
        last.walBytesAtRisk === null && next.walBytesAtRisk === null ? null : (last.walBytesAtRisk ?? 0) + (next.walBytesAtRisk ?? 0),
      anatomy: last.anatomy ?? next.anatomy,
    };
  }
  return merged;
}

function fromVerdict(
  verdict: Verdict,
  laterVerified: Verdict | undefined,
  changes: readonly LeaderChanged[],
): { incident: Incident; change: LeaderChanged | undefined } {
  const o = verdict.outage;
  const start = (o.startedAfter + o.startedBefore) / 2;
  const restoredAt =
    verdict.type === 'write_verified'
      ? o.endedBefore
      : laterVerified?.type === 'write_verified'
        ? Date.parse(laterVerified.restoredAt)
        : null;
  const lastFailed = verdict.type === 'write_verified' ? (o.endedAfter ?? o.endedBefore ?? start) : null;
  const end = restoredAt === null ? null : lastFailed === null ? restoredAt : (lastFailed + restoredAt) / 2;
  const minMs = o.downtimeMinMs;
  const maxMs = restoredAt === null ? o.downtimeMaxMs : Math.max(o.downtimeMaxMs, restoredAt - o.startedAfter);
  const change = changes.find(
    (c) => c.observedAt >= o.startedAfter && c.observedAt <= (restoredAt ?? Number.POSITIVE_INFINITY) + ATTRIBUTION_SLACK_MS,
  );
  const incident: Incident = {
    cluster: verdict.cluster,
    id: verdict.incident,
    kind: change?.kind ?? 'unknown',
    planned: change?.kind === 'switchover',
    start,
    end,
    downtimeMs: end === null ? maxMs : clamp(end - start, minMs, maxMs),
    downtimeMinMs: minMs,
    downtimeMaxMs: maxMs,
    measuredBy: verdict.type,
    from: change?.from ?? null,
    to: change?.to ?? null,
    walBytesAtRisk: change?.walBytesAtRisk ?? null,
    anatomy: verdict.type === 'write_verified' ? (verdict.anatomy ?? null) : null,
  };
  return { incident, change };
}

/**
 * No probe measured it: writes were down at most from the last healthy poll before the first sign of trouble to
 * the poll that saw the new leader. Counted at that upper bound, flagged unmeasured.
 */
function fromLeaderChange(change: LeaderChanged, events: readonly ClusterEvent[]): Incident {
  const evidence = events.find(
    (e) =>
      e.observedAt <= change.observedAt &&
      e.observedAt >= change.observedAt - 5 * 60_000 &&
      (e.type === 'no_leader' || (e.type === 'member_unreachable' && e.wasLeader)),
  );
  const start = Math.min(
    evidence?.lastHealthyAt ?? change.lastHealthyAt ?? Number.POSITIVE_INFINITY,
    evidence?.previousObservedAt ?? change.previousObservedAt ?? change.observedAt,
  );
  const maxMs = change.observedAt - start;
  return {
    cluster: change.cluster,
    id: change.id,
    kind: change.kind,
    planned: change.kind === 'switchover',
    start,
    end: change.observedAt,
    downtimeMs: maxMs,
    downtimeMinMs: 0,
    downtimeMaxMs: maxMs,
    measuredBy: 'unmeasured',
    from: change.from,
    to: change.to,
    walBytesAtRisk: change.walBytesAtRisk,
    anatomy: null,
  };
}

function coveredBy(change: LeaderChanged, incidents: readonly Incident[]): boolean {
  return incidents.some(
    (i) =>
      change.observedAt >= i.start - ATTRIBUTION_SLACK_MS &&
      change.observedAt <= (i.end ?? Number.POSITIVE_INFINITY) + ATTRIBUTION_SLACK_MS,
  );
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), Math.max(min, max));
}

/** Sorted, disjoint union of the intervals. */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  const merged: Interval[] = [];
  for (const interval of sorted) {
    const last = merged[merged.length - 1];
    if (last && interval.start <= last.end) merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, interval.end) };
    else merged.push({ ...interval });
  }
  return merged;
}

/** The parts of the intervals inside the period. */
export function clipIntervals(intervals: readonly Interval[], period: Interval): Interval[] {
  return intervals
    .map((i) => ({ start: Math.max(i.start, period.start), end: Math.min(i.end, period.end) }))
    .filter((i) => i.end > i.start);
}

export function totalMs(intervals: readonly Interval[]): number {
  return intervals.reduce((sum, i) => sum + (i.end - i.start), 0);
}

export interface MaintenanceWindow extends Interval {
  readonly reason?: string;
}

/** The objective and what does not count against it. */
export interface SloPolicy {
  readonly targetPercent: number;
  /** Planned switchovers do not count against the SLO; their downtime is shown as excluded. */
  readonly excludePlanned: boolean;
  /** Downtime inside these windows does not count against the SLO; it is shown as excluded. */
  readonly maintenance: readonly MaintenanceWindow[];
}

export const DEFAULT_SLO: SloPolicy = { targetPercent: 99.95, excludePlanned: false, maintenance: [] };

export type VerdictStatus = 'met' | 'at_risk' | 'breached' | 'no_data';

export interface SloVerdict {
  readonly status: VerdictStatus;
  /** Why, in one sentence with the figures. */
  readonly reason: string;
}

export type Exclusion = 'planned' | 'maintenance';

export interface ReportedIncident extends Incident {
  /** Why its downtime does not count against the SLO (in whole, or inside a maintenance window), if it does not. */
  readonly excludedBy: Exclusion | null;
}

export interface SlaReport {
  /** The period reported: as asked, cut at the time of the report when it ends later (`coverage.cutAt`). */
  readonly period: Interval;
  readonly coverage: Coverage;
  readonly policy: SloPolicy;
  readonly sloPercent: number;
  /** Percent of the watched time writes worked; null when nothing was watched. */
  readonly availabilityPercent: number | null;
  /**
   * Over the whole period: lower counts unwatched time as down and every incident at its upper bound; upper
   * counts unwatched time as up and every incident at its lower bound.
   */
  readonly availabilityBoundsPercent: { readonly lower: number; readonly upper: number };
  /** Counted downtime inside the watched time (best estimate). */
  readonly downtimeMs: number;
  /** Downtime the policy does not count: planned switchovers, maintenance windows. */
  readonly excludedDowntimeMs: number;
  readonly incidents: readonly ReportedIncident[];
  readonly failovers: number;
  readonly switchovers: number;
  readonly unknown: number;
  /** Mean counted downtime of the counted incidents. */
  readonly mttrMs: number | null;
  /** Mean watched uptime between unplanned incidents. */
  readonly mtbfMs: number | null;
  readonly errorBudgetMs: number;
  readonly errorBudgetUsedPercent: number;
  /** Negative once the budget is overspent. */
  readonly errorBudgetRemainingMs: number;
  readonly verdict: SloVerdict;
}

export type Length = (i: Incident) => number;

/**
 * Availability of one cluster over the watched part of a period. Overlapping incidents count once; an incident
 * crossing the period's edge counts only inside it; one still open counts until the period's end. Downtime in
 * unwatched time is not known, so it is in the bounds and the verdict, never in the figure.
 */
export function slaReport(incidents: readonly Incident[], coverage: Coverage, policy: SloPolicy = DEFAULT_SLO): SlaReport {
  const target = policy.targetPercent;
  if (!(target > 0 && target <= 100)) throw new RangeError(`the SLO must lie in (0, 100] percent (got ${target})`);
  const period = coverage.period;
  const periodMs = period.end - period.start;
  const unwatchedMs = periodMs - coverage.watchedMs;
  const inPeriod = incidents
    .filter((i) => i.start < period.end && (i.end ?? period.end) > period.start)
    .map((i) => ({ ...i, excludedBy: exclusionOf(i, policy) }));
  const counted = inPeriod.filter((i) => i.excludedBy !== 'planned');
  const down = (length: Length) => totalMs(countedDowntime(counted, coverage, policy, length));
  const downtimeMs = down((i) => i.downtimeMs);
  const downtimeMaxMs = down((i) => i.downtimeMaxMs);
  const downtimeMinMs = down((i) => i.downtimeMinMs);
  const unplanned = counted.filter((i) => !i.planned);
  const errorBudgetMs = ((100 - target) / 100) * periodMs;
  const percentOfPeriod = (downMs: number) => 100 * (1 - downMs / periodMs);
  return {
    period,
    coverage,
    policy,
    sloPercent: target,
    availabilityPercent: coverage.watchedMs > 0 ? 100 * (1 - downtimeMs / coverage.watchedMs) : null,
    availabilityBoundsPercent: { lower: percentOfPeriod(downtimeMaxMs + unwatchedMs), upper: percentOfPeriod(downtimeMinMs) },
    downtimeMs,
    excludedDowntimeMs:
      totalMs(
        intersect(
          spans(inPeriod, (i) => i.downtimeMs, period),
          coverage.watched,
        ),
      ) - downtimeMs,
    incidents: inPeriod,
    failovers: inPeriod.filter((i) => i.kind === 'failover').length,
    switchovers: inPeriod.filter((i) => i.kind === 'switchover').length,
    unknown: inPeriod.filter((i) => i.kind === 'unknown').length,
    mttrMs: counted.length > 0 ? downtimeMs / counted.length : null,
    mtbfMs: unplanned.length > 0 ? (coverage.watchedMs - downtimeMs) / unplanned.length : null,
    errorBudgetMs,
    errorBudgetUsedPercent: errorBudgetMs > 0 ? (100 * downtimeMs) / errorBudgetMs : downtimeMs > 0 ? Number.POSITIVE_INFINITY : 0,
    errorBudgetRemainingMs: errorBudgetMs - downtimeMs,
    verdict: verdictOf({ coverage, downtimeMs, worstMs: downtimeMaxMs + unwatchedMs, unwatchedMs, errorBudgetMs }),
  };
}

/**
 * When writes were down and it counts against the SLO: the incidents' spans (each `length` long, an open one
 * until the period's end), outside maintenance windows, inside watched time.
 */
export function countedDowntime(incidents: readonly Incident[], coverage: Coverage, policy: SloPolicy, length: Length): Interval[] {
  const counted = incidents.filter((i) => !(i.planned && policy.excludePlanned));
  const outsideMaintenance = complement(policy.maintenance, coverage.period);
  return intersect(intersect(spans(counted, length, coverage.period), outsideMaintenance), coverage.watched);
}

function exclusionOf(incident: Incident, policy: SloPolicy): Exclusion | null {
  if (incident.planned && policy.excludePlanned) return 'planned';
  const end = incident.end ?? Number.POSITIVE_INFINITY;
  return policy.maintenance.some((w) => w.start < end && w.end > incident.start) ? 'maintenance' : null;
}

function spans(incidents: readonly Incident[], length: Length, period: Interval): Interval[] {
  return incidents.map((i) => ({ start: i.start, end: i.end === null ? period.end : i.start + length(i) }));
}

interface VerdictFigures {
  readonly coverage: Coverage;
  readonly downtimeMs: number;
  /** Every incident at its upper bound and every unwatched second down. */
  readonly worstMs: number;
  readonly unwatchedMs: number;
  readonly errorBudgetMs: number;
}

/**
 * Met only when even the worst case fits the budget; breached when the measured downtime alone overspends it;
 * at risk in between, saying whether unwatched time or the incidents' bounds are what could overspend it.
 */
function verdictOf(f: VerdictFigures): SloVerdict {
  const budget = `the error budget of ${duration(f.errorBudgetMs)}`;
  if (f.coverage.watchedMs === 0)
    return { status: 'no_data', reason: 'the cluster was not watched in this period: nothing can be claimed' };
  if (f.downtimeMs > f.errorBudgetMs)
    return { status: 'breached', reason: `${duration(f.downtimeMs)} of downtime measured, more than ${budget}` };
  if (f.worstMs <= f.errorBudgetMs)
    return { status: 'met', reason: `even counting every unwatched second and every incident at its upper bound, within ${budget}` };
  if (f.unwatchedMs > 0) {
    const share = (100 * f.coverage.fraction).toFixed(1);
    return {
      status: 'at_risk',
      reason: `${duration(f.unwatchedMs)} unwatched (coverage ${share} %) could hold more downtime than the ${duration(f.errorBudgetMs - f.downtimeMs)} left of ${budget}`,
    };
  }
  return { status: 'at_risk', reason: `the incidents' upper bounds add up to ${duration(f.worstMs)}, more than ${budget}` };
}

/** A duration for a sentence: milliseconds under a second, seconds under two minutes, then minutes, hours or days. */
export function duration(ms: number): string {
  const s = ms / 1000;
  if (Math.abs(s) < 1) return `${Math.round(ms)} ms`;
  if (Math.abs(s) < 120) return `${s.toFixed(1)} s`;
  if (Math.abs(s) < 7_200) return `${(s / 60).toFixed(1)} min`;
  if (Math.abs(s) < 172_800) return `${(s / 3_600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

export interface ClusterSla {
  readonly cluster: string;
  readonly report: SlaReport;
}

/**
 * The fleet over one period. Its availability is the share of watched cluster-time in which writes worked
 * (every cluster weighs by the time it was watched); the worst cluster is reported beside it, because a fleet
 * figure can hide one cluster far below its SLO.
 */
export interface FleetReport {
  readonly period: Interval;
  readonly clusters: readonly ClusterSla[];
  readonly clusterTimeMs: number;
  readonly watchedMs: number;
  readonly coverage: number;
  readonly availabilityPercent: number | null;
  readonly availabilityBoundsPercent: { readonly lower: number; readonly upper: number };
  readonly downtimeMs: number;
  readonly incidents: number;
  /** The cluster with the lowest availability among those watched; null when none was. */
  readonly worst: { readonly cluster: string; readonly availabilityPercent: number } | null;
  readonly verdicts: Readonly<Record<VerdictStatus, number>>;
  readonly definition: string;
}

export const FLEET_DEFINITION =
  'fleet availability = watched cluster-time with writes working / all watched cluster-time (each cluster weighs by the time it was watched); ' +
  'bounds over all cluster-time, unwatched counted as down (lower) or up (upper); the worst cluster is given beside it';

export function fleetReport(clusters: readonly ClusterSla[], period: Interval): FleetReport {
  const sum = (f: (r: SlaReport) => number) => clusters.reduce((total, c) => total + f(c.report), 0);
  const clusterTimeMs = sum((r) => r.period.end - r.period.start);
  const watchedMs = sum((r) => r.coverage.watchedMs);
  const downtimeMs = sum((r) => r.downtimeMs);
  const boundDown = (percent: (r: SlaReport) => number) => sum((r) => ((100 - percent(r)) / 100) * (r.period.end - r.period.start));
  const ofClusterTime = (downMs: number) => (clusterTimeMs > 0 ? 100 * (1 - downMs / clusterTimeMs) : 0);
  const watched = clusters.filter((c) => c.report.availabilityPercent !== null);
  const worst = watched.reduce<ClusterSla | null>(
    (w, c) => (w === null || c.report.availabilityPercent! < w.report.availabilityPercent! ? c : w),
    null,
  );
  const verdicts = { met: 0, at_risk: 0, breached: 0, no_data: 0 };
  for (const c of clusters) verdicts[c.report.verdict.status]++;
  return {
    period,
    clusters,
    clusterTimeMs,
    watchedMs,
    coverage: clusterTimeMs > 0 ? watchedMs / clusterTimeMs : 0,
    availabilityPercent: watchedMs > 0 ? 100 * (1 - downtimeMs / watchedMs) : null,
    availabilityBoundsPercent: {
      lower: ofClusterTime(boundDown((r) => r.availabilityBoundsPercent.lower)),
      upper: ofClusterTime(boundDown((r) => r.availabilityBoundsPercent.upper)),
    },
    downtimeMs,
    incidents: sum((r) => r.incidents.length),
    worst: worst && { cluster: worst.cluster, availabilityPercent: worst.report.availabilityPercent! },
    verdicts,
    definition: FLEET_DEFINITION,
  };
}

/** A calendar month in UTC, `YYYY-MM`. */
export function monthPeriod(month: string): Interval {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 12) throw new RangeError(`a month must look like 2026-11 (got "${month}")`);
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  return { start: Date.UTC(year, index, 1), end: Date.UTC(year, index + 1, 1) };
}
