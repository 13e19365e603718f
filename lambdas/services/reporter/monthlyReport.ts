import type { Clock, ReportSink, ReportStore, SummaryPublisher } from '../../domain/ports.js';
import { renderFleet, renderSla, verdictLine } from '../../domain/reportFormats.js';
import { duration, monthPeriod, type SloPolicy } from '../../domain/sla.js';
import { eventsBefore, fleetSla, knownClusters } from './slaReports.js';

export interface MonthlyReportDeps {
  readonly store: ReportStore;
  readonly bucket: ReportSink;
  readonly publish: SummaryPublisher;
  readonly clock: Clock;
}

export interface MonthlyReportScope {
  /** The configured clusters: each gets its report, even one that was quiet or never watched in the month. */
  readonly clusters: readonly string[];
  readonly policy: SloPolicy;
}

export interface MonthlyReportResult {
  readonly month: string;
  readonly objects: readonly string[];
  readonly summary: string;
}

/** The month before `now`, as YYYY-MM in UTC. */
export function previousMonth(now: number): string {
  const date = new Date(now);
  const first = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() - 1, 1);
  return new Date(first).toISOString().slice(0, 7);
}

const FORMATS = ['html', 'csv', 'json'] as const;

/**
 * A month's report for the fleet and for every cluster (configured or ever watched), as HTML, CSV and JSON in the
 * bucket, and a summary with the verdicts and links on the topic. Re-running for the same month writes the same
 * keys again.
 */
export async function writeMonthlyReport(month: string, scope: MonthlyReportScope, deps: MonthlyReportDeps): Promise<MonthlyReportResult> {
  const period = monthPeriod(month);
  const clusters = await knownClusters(deps.store, scope.clusters);
  const { fleet, events } = await fleetSla(deps, clusters, period, scope.policy);
  const objects: string[] = [];
  const fleetTitle = `Availability of all clusters, ${month}`;
  for (const format of FORMATS)
    objects.push(await deps.bucket.put(month, 'all-clusters', format, renderFleet(fleet, format, fleetTitle, events)));
  const lines: string[] = [];
  for (const { cluster, report } of fleet.clusters) {
    const baseline = await eventsBefore(deps.store, cluster, period.start);
    const rendering = {
      cluster,
      report,
      title: `Availability of ${cluster}, ${month}`,
      events: [...baseline, ...events.filter((e) => e.cluster === cluster)],
    };
    for (const format of FORMATS) objects.push(await deps.bucket.put(month, cluster, format, renderSla(rendering, format)));
    lines.push(
      `${cluster}: ${verdictLine(report)}; coverage ${(100 * report.coverage.fraction).toFixed(2)} %, ` +
        `${report.incidents.length} incidents, ${duration(report.downtimeMs)} down`,
    );
  }
  const fleetLine =
    `fleet: ${fleet.availabilityPercent === null ? 'no data' : `${fleet.availabilityPercent.toFixed(4)} %`} of watched cluster-time ` +
    `(coverage ${(100 * fleet.coverage).toFixed(2)} %); ${fleet.verdicts.met} met, ${fleet.verdicts.at_risk} at risk, ` +
    `${fleet.verdicts.breached} breached, ${fleet.verdicts.no_data} without data`;
  const summary = [
    `Patroni failover report for ${month} (SLO ${scope.policy.targetPercent} %)`,
    '',
    fleetLine,
    ...lines,
    '',
    'Reports:',
    ...objects.filter((o) => o.endsWith('.html')),
  ].join('\n');
  await deps.publish(`Patroni failover report ${month}`, summary);
  return { month, objects, summary };
}
