import type { ClusterEvent } from '../../domain/events.js';
import type { EventStore, ReportSink, SummaryPublisher } from '../../domain/ports.js';
import { renderSla } from '../../domain/reportFormats.js';
import { incidentsFromEvents, monthPeriod, slaReport } from '../../domain/sla.js';

export interface MonthlyReportDeps {
  readonly store: Pick<EventStore, 'listAllEvents'>;
  readonly bucket: ReportSink;
  readonly publish: SummaryPublisher;
}

export interface MonthlyReportResult {
  readonly month: string;
  readonly objects: readonly string[];
  readonly summary: string;
}

/** Incidents can start before the month they are reported in. */
const LOOKBACK_MS = 86_400_000;

/** The month before `now`, as YYYY-MM in UTC. */
export function previousMonth(now: number): string {
  const date = new Date(now);
  const first = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() - 1, 1);
  return new Date(first).toISOString().slice(0, 7);
}

/**
 * Last month's report for every cluster and for the fleet, as HTML, CSV and JSON in the bucket, and a summary
 * with the links on the topic. Re-running for the same month writes the same keys again.
 */
export async function writeMonthlyReport(month: string, sloPercent: number, deps: MonthlyReportDeps): Promise<MonthlyReportResult> {
  const period = monthPeriod(month);
  const events = await deps.store.listAllEvents({ since: period.start - LOOKBACK_MS, until: period.end });
  const clusters = [...new Set(events.map((e) => e.cluster))].sort();
  const objects: string[] = [];
  const lines: string[] = [];
  const scopes: [string, ClusterEvent[]][] = [
    ['all-clusters', events],
    ...clusters.map((c): [string, ClusterEvent[]] => [c, events.filter((e) => e.cluster === c)]),
  ];
  for (const [name, scoped] of scopes) {
    const report = slaReport(incidentsFromEvents(scoped), period, sloPercent, period.end);
    const title = `Availability of ${name === 'all-clusters' ? 'all clusters' : name}, ${month}`;
    for (const format of ['html', 'csv', 'json'] as const)
      objects.push(await deps.bucket.put(month, name, format, renderSla(report, format, title, scoped)));
    lines.push(
      `${name}: ${report.availabilityPercent.toFixed(4)} % (${report.availabilityUnplannedPercent.toFixed(4)} % without switchovers), ` +
        `${report.failovers} failovers, ${report.switchovers} switchovers, ${(report.downtimeMs / 1000).toFixed(1)} s down, ` +
        `${report.errorBudgetUsedPercent.toFixed(1)} % of the ${sloPercent} % budget`,
    );
  }
  const summary = [
    `Patroni failover report for ${month}`,
    '',
    ...lines,
    '',
    'Reports:',
    ...objects.filter((o) => o.endsWith('.html')),
  ].join('\n');
  await deps.publish(`Patroni failover report ${month}`, summary);
  return { month, objects, summary };
}
