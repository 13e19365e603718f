import type { IncidentAnatomy, MilestoneName } from './anatomy.js';
import { describeEvent } from './describe.js';
import type { ClusterEvent } from './events.js';
import { holderWords, type LeadershipInterval } from './leadership.js';
import { duration, FLEET_DEFINITION, type FleetReport, type Incident, type ReportedIncident, type SlaReport } from './sla.js';
import { slaHtml } from './slaHtml.js';
import { neutralise } from './text.js';

/**
 * Renderings of the audit trail and the SLA report (pure: text in, text out). The same functions serve the CLI
 * and the monthly report Lambda.
 */

export type Format = 'table' | 'json' | 'csv' | 'md' | 'html';

export const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
export const seconds = (ms: number) => (ms / 1000).toFixed(1);
export const percent = (p: number | null) => (p === null ? 'no data' : `${p.toFixed(4)} %`);
/** Cells hold member names and Patroni's free text: neutralised in every table, whatever the format. */
const cellText = (v: string | number | null) => (v === null ? '' : neutralise(String(v)));

/** RFC 4180 CSV: quoted when needed, CRLF-free. */
export function toCsv(headers: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const cell = (v: string | number | null) => {
    const text = cellText(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return `${[headers, ...rows].map((row) => row.map(cell).join(',')).join('\n')}\n`;
}

/** A plain-text table in the style of `patronictl list`. */
export function toTable(headers: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const text = rows.map((r) => r.map(cellText));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  return `${[rule, line(headers), rule, ...text.map(line), rule].join('\n')}\n`;
}

export function toMarkdown(headers: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const line = (cells: readonly (string | number | null)[]) => `| ${cells.map((c) => cellText(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return `${[line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n')}\n`;
}

const EVENT_HEADERS = ['observedAt', 'cluster', 'type', 'id', 'description'];

export function renderEvents(events: readonly ClusterEvent[], format: Exclude<Format, 'md' | 'html'>): string {
  if (format === 'json') return events.map((e) => JSON.stringify(e)).join('\n') + (events.length > 0 ? '\n' : '');
  const rows = events.map((e) => [iso(e.observedAt), e.cluster, e.type, e.id, describeEvent(e)]);
  return format === 'csv' ? toCsv(EVENT_HEADERS, rows) : toTable(EVENT_HEADERS, rows);
}

export const INCIDENT_HEADERS = [
  'cluster',
  'start',
  'end',
  'downtime s',
  'min s',
  'max s',
  'kind',
  'from',
  'to',
  'measured by',
  'WAL at risk (bytes)',
  'cause',
  'predicted s',
  'longer than predicted',
  'excluded',
];

export function incidentRow(i: Incident | ReportedIncident): (string | number | null)[] {
  return [
    i.cluster,
    iso(i.start),
    iso(i.end),
    seconds(i.downtimeMs),
    seconds(i.downtimeMinMs),
    seconds(i.downtimeMaxMs),
    i.kind,
    i.from,
    i.to,
    i.measuredBy,
    i.walBytesAtRisk,
    i.anatomy?.cause.kind ?? null,
    i.anatomy?.predicted ? `${seconds(i.anatomy.predicted.minMs)}-${seconds(i.anatomy.predicted.maxMs)}` : null,
    i.anatomy?.longerThanPredicted == null ? null : i.anatomy.longerThanPredicted ? 'yes' : 'no',
    'excludedBy' in i ? i.excludedBy : null,
  ];
}

const PHASE_HEADERS = ['cluster', 'incident start', 'cause', 'phase', 'what', 'from', 'duration s', 'evidence'];

/** One line per phase of every incident whose verdict recorded its anatomy. */
function phaseRows(incidents: readonly Incident[]): (string | number | null)[][] {
  return incidents.flatMap((i) => {
    const anatomy = i.anatomy;
    if (!anatomy) return [];
    let from = anatomy.milestones[0]!.at!;
    const line = (name: string, label: string, durationMs: number, evidence: string) => [
      i.cluster,
      iso(i.start),
      anatomy.cause.kind,
      name,
      label,
      iso(from),
      seconds(durationMs),
      evidence,
    ];
    const rows = anatomy.phases.map((p) => {
      const row = line(p.name, p.label, p.durationMs, evidenceOf(anatomy, p.endsAt));
      from += p.durationMs;
      return row;
    });
    // After the outage, not part of it: until every other member streamed from the new leader again. The
    // replicas can follow the new leader before HAProxy routes to it; that is said, never a negative phase.
    if (!i.redundancyRestoredAt) return rows;
    const afterMs = i.redundancyRestoredAt - from;
    const label =
      afterMs >= 0
        ? 'until the replicas streamed again (after writes stable)'
        : `the replicas streamed again ${duration(-afterMs)} before writes were stable`;
    return [...rows, line('redundancy', label, Math.max(0, afterMs), 'redundancy_restored')];
  });
}

function evidenceOf(anatomy: IncidentAnatomy, milestone: MilestoneName): string {
  return anatomy.milestones.find((m) => m.name === milestone)?.evidence ?? '';
}

/** The phases alone, for `failover incidents --phases`. */
export function renderPhases(incidents: readonly Incident[], format: Exclude<Format, 'html' | 'json'>): string {
  const rows = phaseRows(incidents);
  if (format === 'csv') return toCsv(PHASE_HEADERS, rows);
  if (format === 'md') return toMarkdown(PHASE_HEADERS, rows);
  return toTable(PHASE_HEADERS, rows);
}

/** Incidents as JSON carry seconds with their bounds, the shape the SLA report's `incidents` uses. */
export function incidentJson(i: Incident | ReportedIncident) {
  return {
    cluster: i.cluster,
    id: i.id,
    start: iso(i.start),
    end: i.end === null ? null : iso(i.end),
    downtimeSeconds: i.downtimeMs / 1000,
    downtimeMinSeconds: i.downtimeMinMs / 1000,
    downtimeMaxSeconds: i.downtimeMaxMs / 1000,
    kind: i.kind,
    planned: i.planned,
    from: i.from,
    to: i.to,
    measuredBy: i.measuredBy,
    walBytesAtRisk: i.walBytesAtRisk,
    cause: i.anatomy?.cause ?? null,
    phases: i.anatomy?.phases.map((p) => ({ name: p.name, label: p.label, seconds: p.durationMs / 1000 })) ?? null,
    milestones: i.anatomy?.milestones.map((m) => ({ name: m.name, at: m.at === null ? null : iso(m.at), evidence: m.evidence })) ?? null,
    predicted: i.anatomy?.predicted
      ? { minSeconds: i.anatomy.predicted.minMs / 1000, maxSeconds: i.anatomy.predicted.maxMs / 1000, formula: i.anatomy.predicted.formula }
      : null,
    predictionNote: i.anatomy?.predictionNote ?? null,
    longerThanPredicted: i.anatomy?.longerThanPredicted ?? null,
    redundancyRestoredAt: i.redundancyRestoredAt ? iso(i.redundancyRestoredAt) : null,
    excludedBy: 'excludedBy' in i ? i.excludedBy : null,
  };
}

/** Incidents, then (table and md) the phases of those that have an anatomy. CSV is one table: the incidents. */
export function renderIncidents(incidents: readonly (Incident | ReportedIncident)[], format: Exclude<Format, 'html'>): string {
  if (format === 'json') return `${JSON.stringify(incidents.map(incidentJson), null, 2)}\n`;
  const rows = incidents.map(incidentRow);
  if (format === 'csv') return toCsv(INCIDENT_HEADERS, rows);
  const phases = phaseRows(incidents).length > 0;
  if (format === 'md') return toMarkdown(INCIDENT_HEADERS, rows) + (phases ? `\n### Phases\n\n${renderPhases(incidents, 'md')}` : '');
  return toTable(INCIDENT_HEADERS, rows) + (phases ? `\nPhases\n${renderPhases(incidents, 'table')}` : '');
}

const VERDICT_WORDS = { met: 'MET', at_risk: 'AT RISK', breached: 'BREACHED', no_data: 'NO DATA' } as const;

export function verdictLine(report: SlaReport): string {
  return `${VERDICT_WORDS[report.verdict.status]}: ${report.verdict.reason}`;
}

function exclusionWords(report: SlaReport): string {
  const parts = [
    ...(report.policy.excludePlanned ? ['planned switchovers'] : []),
    ...report.policy.maintenance.map((w) => `maintenance ${iso(w.start)} - ${iso(w.end)}${w.reason ? ` (${w.reason})` : ''}`),
  ];
  return parts.length === 0 ? 'none' : parts.join('; ');
}

export function summaryRows(report: SlaReport): [string, string][] {
  const c = report.coverage;
  const bounds = report.availabilityBoundsPercent;
  return [
    ['verdict', verdictLine(report)],
    ['period', `${iso(report.period.start)} - ${iso(report.period.end)}${c.cutAt === null ? '' : ' (cut at the time of the report)'}`],
    ['coverage', `${(100 * c.fraction).toFixed(2)} % watched (${duration(c.watchedMs)}), ${c.unwatched.length} unwatched intervals`],
    ['availability (of watched time)', percent(report.availabilityPercent)],
    ['availability bounds (unwatched as down - as up)', `${percent(bounds.lower)} - ${percent(bounds.upper)}`],
    ['SLO', `${report.sloPercent} %`],
    ['downtime counted', `${seconds(report.downtimeMs)} s`],
    ['downtime excluded', `${seconds(report.excludedDowntimeMs)} s (exclusions: ${exclusionWords(report)})`],
    [
      'error budget',
      `${seconds(report.errorBudgetMs)} s, ${report.errorBudgetUsedPercent.toFixed(1)} % used, ${seconds(report.errorBudgetRemainingMs)} s left`,
    ],
    ['failovers / switchovers / unknown', `${report.failovers} / ${report.switchovers} / ${report.unknown}`],
    ['mean time to recovery', report.mttrMs === null ? '-' : `${seconds(report.mttrMs)} s`],
    ['mean time between failures', report.mtbfMs === null ? '-' : duration(report.mtbfMs)],
  ];
}

const UNWATCHED_HEADERS = ['unwatched from', 'to', 'duration', 'why'];
const REASON_WORDS = {
  never_watched: 'never watched',
  before_first_watch: 'before the first poll',
  poller_gap: 'the poller was not polling (gap recorded)',
  not_polling: 'no heartbeat since: the poller is not polling',
} as const;

function unwatchedRows(report: SlaReport): string[][] {
  return report.coverage.unwatched.map((u) => [iso(u.start), iso(u.end), duration(u.end - u.start), REASON_WORDS[u.reason]]);
}

/** One cluster's report as JSON: `coverage` and `verdict` at the top level, every figure with its bounds. */
export function slaJson(cluster: string, report: SlaReport, title = `Availability of ${cluster}`) {
  const c = report.coverage;
  return {
    title,
    cluster,
    period: { start: iso(report.period.start), end: iso(report.period.end), cutAtNow: c.cutAt !== null },
    coverage: c.fraction,
    watchedSeconds: c.watchedMs / 1000,
    unwatched: c.unwatched.map((u) => ({ start: iso(u.start), end: iso(u.end), seconds: (u.end - u.start) / 1000, reason: u.reason })),
    verdict: report.verdict,
    sloPercent: report.sloPercent,
    exclusions: {
      plannedSwitchovers: report.policy.excludePlanned,
      maintenance: report.policy.maintenance.map((w) => ({ start: iso(w.start), end: iso(w.end), reason: w.reason ?? null })),
    },
    availabilityPercent: report.availabilityPercent,
    availabilityBoundsPercent: report.availabilityBoundsPercent,
    downtimeSeconds: report.downtimeMs / 1000,
    excludedDowntimeSeconds: report.excludedDowntimeMs / 1000,
    failovers: report.failovers,
    switchovers: report.switchovers,
    unknown: report.unknown,
    mttrSeconds: report.mttrMs === null ? null : report.mttrMs / 1000,
    mtbfSeconds: report.mtbfMs === null ? null : report.mtbfMs / 1000,
    errorBudgetSeconds: report.errorBudgetMs / 1000,
    errorBudgetUsedPercent: report.errorBudgetUsedPercent,
    errorBudgetRemainingSeconds: report.errorBudgetRemainingMs / 1000,
    incidents: report.incidents.map(incidentJson),
  };
}

export interface ClusterRendering {
  readonly cluster: string;
  readonly report: SlaReport;
  readonly title: string;
  /** The cluster's events: a baseline before the period, and the period's (the HTML's member rows). */
  readonly events?: readonly ClusterEvent[];
}

export function renderSla(r: ClusterRendering, format: Format): string {
  const { report, title } = r;
  const unwatched = unwatchedRows(report);
  switch (format) {
    case 'json':
      return `${JSON.stringify(slaJson(r.cluster, report, title), null, 2)}\n`;
    case 'csv':
      return toCsv(FLEET_HEADERS, [fleetRow(r.cluster, report)]);
    case 'md':
      return [
        `# ${title}\n`,
        toMarkdown(['measure', 'value'], summaryRows(report)),
        ...(unwatched.length > 0 ? ['## Unwatched time\n', toMarkdown(UNWATCHED_HEADERS, unwatched)] : []),
        '## Incidents\n',
        renderIncidents(report.incidents, 'md'),
      ].join('\n');
    case 'table':
      return [
        `${title}\n${toTable(['measure', 'value'], summaryRows(report))}`,
        ...(unwatched.length > 0 ? [`Unwatched time\n${toTable(UNWATCHED_HEADERS, unwatched)}`] : []),
        renderIncidents(report.incidents, 'table'),
      ].join('');
    case 'html':
      return slaHtml([r], { title, fleet: null });
  }
}

export const FLEET_HEADERS = [
  'cluster',
  'availability',
  'lower bound',
  'upper bound',
  'coverage',
  'incidents',
  'downtime s',
  'MTTR s',
  'budget used',
  'verdict',
];

export function fleetRow(cluster: string, report: SlaReport): (string | number | null)[] {
  return [
    cluster,
    percent(report.availabilityPercent),
    percent(report.availabilityBoundsPercent.lower),
    percent(report.availabilityBoundsPercent.upper),
    report.coverage.fraction.toFixed(4),
    report.incidents.length,
    seconds(report.downtimeMs),
    report.mttrMs === null ? '-' : seconds(report.mttrMs),
    `${report.errorBudgetUsedPercent.toFixed(1)} %`,
    VERDICT_WORDS[report.verdict.status],
  ];
}

/** The fleet line: what it means is said next to it, in every format. */
function fleetTotalRow(fleet: FleetReport): (string | number | null)[] {
  const worst = fleet.worst ? `worst: ${fleet.worst.cluster} ${percent(fleet.worst.availabilityPercent)}` : 'worst: -';
  const v = fleet.verdicts;
  return [
    `FLEET (${fleet.clusters.length} clusters)`,
    percent(fleet.availabilityPercent),
    percent(fleet.availabilityBoundsPercent.lower),
    percent(fleet.availabilityBoundsPercent.upper),
    fleet.coverage.toFixed(4),
    fleet.incidents,
    seconds(fleet.downtimeMs),
    worst,
    '',
    `${v.met} met, ${v.at_risk} at risk, ${v.breached} breached, ${v.no_data} no data`,
  ];
}

export function fleetJson(fleet: FleetReport, title: string) {
  return {
    title,
    period: { start: iso(fleet.period.start), end: iso(fleet.period.end) },
    fleet: {
      definition: fleet.definition,
      clusters: fleet.clusters.length,
      coverage: fleet.coverage,
      availabilityPercent: fleet.availabilityPercent,
      availabilityBoundsPercent: fleet.availabilityBoundsPercent,
      downtimeSeconds: fleet.downtimeMs / 1000,
      incidents: fleet.incidents,
      worst: fleet.worst,
      verdicts: fleet.verdicts,
    },
    clusters: fleet.clusters.map((c) => slaJson(c.cluster, c.report, `Availability of ${c.cluster}`)),
  };
}

export function renderFleet(fleet: FleetReport, format: Format, title: string, events: readonly ClusterEvent[] = []): string {
  const rows = [...fleet.clusters.map((c) => fleetRow(c.cluster, c.report)), fleetTotalRow(fleet)];
  const note = `FLEET: ${FLEET_DEFINITION}.`;
  switch (format) {
    case 'json':
      return `${JSON.stringify(fleetJson(fleet, title), null, 2)}\n`;
    case 'csv':
      return toCsv(FLEET_HEADERS, rows);
    case 'md':
      return `# ${title}\n\n${toMarkdown(FLEET_HEADERS, rows)}\n${note}\n`;
    case 'table':
      return `${title}\n${toTable(FLEET_HEADERS, rows)}${note}\n`;
    case 'html': {
      const clusters = fleet.clusters.map((c) => ({ ...c, title: c.cluster, events: events.filter((e) => e.cluster === c.cluster) }));
      return slaHtml(clusters, { title, fleet });
    }
  }
}

const LEADER_HEADERS = ['from', 'to', 'duration', 'leader', 'evidence'];

/** `failover leaders`: who held the leader lock when. */
export function renderLeaders(intervals: readonly LeadershipInterval[], format: Exclude<Format, 'md' | 'html'>): string {
  if (format === 'json') {
    const rows = intervals.map((i) => ({
      from: iso(i.start),
      to: iso(i.end),
      seconds: (i.end - i.start) / 1000,
      holder: i.holder.kind,
      leader: i.holder.kind === 'member' ? i.holder.name : null,
      evidence: i.evidence,
    }));
    return `${JSON.stringify(rows, null, 2)}\n`;
  }
  const rows = intervals.map((i) => [iso(i.start), iso(i.end), duration(i.end - i.start), holderWords(i.holder), i.evidence?.id ?? '']);
  return format === 'csv' ? toCsv(LEADER_HEADERS, rows) : toTable(LEADER_HEADERS, rows);
}
