import type { IncidentAnatomy } from './anatomy.js';
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
  /** A switchover: planned downtime, reported apart in the availability "without planned". */
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
  for (const event of events) byCluster.set(event.cluster, [...(byCluster.get(event.cluster) ?? []), event]);
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

function totalMs(intervals: readonly Interval[]): number {
  return intervals.reduce((sum, i) => sum + (i.end - i.start), 0);
}

export interface SlaReport {
  readonly period: Interval;
  readonly sloPercent: number;
  /** Percent of the period writes worked, all incidents counted. */
  readonly availabilityPercent: number;
  /** The same with planned switchovers left out. */
  readonly availabilityUnplannedPercent: number;
  /** Availability if every incident lasted its lower / upper bound. */
  readonly availabilityBoundsPercent: { readonly best: number; readonly worst: number };
  readonly downtimeMs: number;
  readonly incidents: readonly Incident[];
  readonly failovers: number;
  readonly switchovers: number;
  readonly unknown: number;
  /** Mean downtime of the incidents in the period. */
  readonly mttrMs: number | null;
  /** Mean uptime between unplanned incidents. */
  readonly mtbfMs: number | null;
  readonly errorBudgetMs: number;
  readonly errorBudgetUsedPercent: number;
}

/**
 * Availability over a period from its incidents. Overlapping incidents count once; an incident crossing the
 * period's edge counts only inside it; one still open counts until the period's end (or `asOf`, if earlier).
 */
export function slaReport(incidents: readonly Incident[], period: Interval, sloPercent: number, asOf: number = period.end): SlaReport {
  if (!(period.end > period.start)) throw new RangeError('the period must end after it starts');
  if (!(sloPercent > 0 && sloPercent <= 100)) throw new RangeError(`the SLO must lie in (0, 100] percent (got ${sloPercent})`);
  const openEnd = Math.min(period.end, Math.max(asOf, period.start));
  const inPeriod = incidents.filter((i) => i.start < period.end && (i.end ?? openEnd) > period.start);
  const span = (i: Incident, length: number): Interval => ({ start: i.start, end: i.end === null ? openEnd : i.start + length });
  const down = (list: readonly Incident[], length: (i: Incident) => number) =>
    totalMs(
      mergeIntervals(
        clipIntervals(
          list.map((i) => span(i, length(i))),
          period,
        ),
      ),
    );
  const periodMs = period.end - period.start;
  const percent = (downMs: number) => 100 * (1 - downMs / periodMs);
  const downtimeMs = down(inPeriod, (i) => i.downtimeMs);
  const unplanned = inPeriod.filter((i) => !i.planned);
  const errorBudgetMs = ((100 - sloPercent) / 100) * periodMs;
  return {
    period,
    sloPercent,
    availabilityPercent: percent(downtimeMs),
    availabilityUnplannedPercent: percent(down(unplanned, (i) => i.downtimeMs)),
    availabilityBoundsPercent: {
      best: percent(down(inPeriod, (i) => i.downtimeMinMs)),
      worst: percent(down(inPeriod, (i) => i.downtimeMaxMs)),
    },
    downtimeMs,
    incidents: inPeriod,
    failovers: inPeriod.filter((i) => i.kind === 'failover').length,
    switchovers: inPeriod.filter((i) => i.kind === 'switchover').length,
    unknown: inPeriod.filter((i) => i.kind === 'unknown').length,
    mttrMs: inPeriod.length > 0 ? downtimeMs / inPeriod.length : null,
    mtbfMs: unplanned.length > 0 ? (periodMs - downtimeMs) / unplanned.length : null,
    errorBudgetMs,
    errorBudgetUsedPercent: errorBudgetMs > 0 ? (100 * downtimeMs) / errorBudgetMs : downtimeMs > 0 ? Number.POSITIVE_INFINITY : 0,
  };
}

/** A calendar month in UTC, `YYYY-MM`. */
export function monthPeriod(month: string): Interval {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 12) throw new RangeError(`--month must look like 2026-11 (got "${month}")`);
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  return { start: Date.UTC(year, index, 1), end: Date.UTC(year, index + 1, 1) };
}
