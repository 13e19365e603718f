import { type Coverage, coverageOf } from '../../domain/coverage.js';
import { UsageError } from '../../domain/errors.js';
import type { ClusterEvent } from '../../domain/events.js';
import type { Clock, ReportStore } from '../../domain/ports.js';
import {
  type ClusterSla,
  type FleetReport,
  fleetReport,
  type Interval,
  incidentsFromEvents,
  type SloPolicy,
  slaReport,
} from '../../domain/sla.js';

/** Incidents can start before the period they are reported in: read this much further back. */
export const LOOKBACK_MS = 86_400_000;

/** Clusters whose watch records a fleet report reads between two progress reports. */
const PROGRESS_STEP = 100;

export interface ReportDeps {
  readonly store: ReportStore;
  readonly clock: Clock;
  /** Called as clusters are read (fleet reports), to show progress on long reads. */
  readonly progress?: (done: number, total: number) => void;
}

export interface ClusterReportResult extends ClusterSla {
  /** The events read: the period's and the lookback's. */
  readonly events: readonly ClusterEvent[];
}

/** One cluster's events between two instants, paged through. */
export async function clusterEvents(
  store: ReportStore,
  cluster: string,
  range: { since?: number; until?: number },
): Promise<ClusterEvent[]> {
  const events: ClusterEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listEvents(cluster, { ...range, cursor });
    events.push(...page.events);
    cursor = page.cursor;
  } while (cursor);
  return events;
}

/**
 * The events before an instant back to the last `watch_started` (a complete baseline of leader and members), so
 * that a period's first minute shows the state the cluster was really in. Oldest first. Reads back at most
 * `maxEvents`; a history longer than that starts from what was read.
 */
export async function eventsBefore(store: ReportStore, cluster: string, before: number, maxEvents = 5_000): Promise<ClusterEvent[]> {
  const read: ClusterEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listEvents(cluster, { until: before - 1, newestFirst: true, limit: 200, cursor });
    for (const event of page.events) {
      read.push(event);
      if (event.type === 'watch_started') return read.reverse();
    }
    cursor = page.cursor;
  } while (cursor && read.length < maxEvents);
  return read.reverse();
}

/** A period that starts in the future is a usage error: nothing can have been watched in it. Returns `now`. */
function notInTheFuture(period: Interval, now: number): number {
  if (period.start >= now) throw new UsageError(`the period starts in the future (${iso(period.start)}): nothing has been watched yet`);
  return now;
}

/** The coverage of one cluster in a period. */
export async function clusterCoverage(deps: ReportDeps, cluster: string, period: Interval): Promise<Coverage> {
  const now = notInTheFuture(period, deps.clock());
  return coverageOf(await deps.store.watchRecord(cluster, period), period, now);
}

export async function clusterReport(deps: ReportDeps, cluster: string, period: Interval, policy: SloPolicy): Promise<ClusterReportResult> {
  const coverage = await clusterCoverage(deps, cluster, period);
  const events = await clusterEvents(deps.store, cluster, { since: period.start - LOOKBACK_MS, until: coverage.period.end });
  return { cluster, report: slaReport(incidentsFromEvents(events), coverage, policy), events };
}

/**
 * Every named cluster over one period: the events of all of them through the day index in one pass, then their
 * watch records in batches. A cluster with no event in the period still gets its row.
 */
export async function fleetSla(
  deps: ReportDeps,
  clusters: readonly string[],
  period: Interval,
  policy: SloPolicy,
): Promise<{ fleet: FleetReport; events: readonly ClusterEvent[] }> {
  const now = notInTheFuture(period, deps.clock());
  const reported = { start: period.start, end: Math.min(period.end, now) };
  const events = await deps.store.listAllEvents({ since: period.start - LOOKBACK_MS, until: reported.end });
  const byCluster = new Map<string, ClusterEvent[]>();
  for (const event of events) {
    const list = byCluster.get(event.cluster) ?? [];
    list.push(event);
    byCluster.set(event.cluster, list);
  }
  const reports: ClusterSla[] = [];
  for (let i = 0; i < clusters.length; i += PROGRESS_STEP) {
    const batch = clusters.slice(i, i + PROGRESS_STEP);
    const records = await deps.store.watchRecords(batch, period);
    for (const cluster of batch) {
      const coverage = coverageOf(records.get(cluster)!, period, now);
      reports.push({ cluster, report: slaReport(incidentsFromEvents(byCluster.get(cluster) ?? []), coverage, policy) });
    }
    deps.progress?.(reports.length, clusters.length);
  }
  return { fleet: fleetReport(reports, reported), events };
}

/** Every cluster the store has watched, and every configured one, by name. */
export async function knownClusters(store: ReportStore, configured: readonly string[] = []): Promise<string[]> {
  const watched = await store.listWatchedClusters();
  return [...new Set([...watched.map((c) => c.cluster), ...configured])].sort();
}

const iso = (ms: number) => new Date(ms).toISOString();
