import { causeWords, type IncidentAnatomy, type MilestoneName, type PhaseName } from './anatomy.js';
import { describeEvent } from './describe.js';
import type { ClusterEvent } from './events.js';
import type { Incident, SlaReport } from './sla.js';

/**
 * Renderings of the audit trail and the SLA report (pure: text in, text out). The same functions serve the CLI
 * and the monthly report Lambda.
 */

export type Format = 'table' | 'json' | 'csv' | 'md' | 'html';

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const percent = (p: number) => `${p.toFixed(4)} %`;

/** RFC 4180 CSV: quoted when needed, CRLF-free. */
export function toCsv(headers: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const cell = (v: string | number | null) => {
    const text = v === null ? '' : String(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return `${[headers, ...rows].map((row) => row.map(cell).join(',')).join('\n')}\n`;
}

/** A plain-text table in the style of `patronictl list`. */
export function toTable(headers: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const text = rows.map((r) => r.map((c) => (c === null ? '' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  return `${[rule, line(headers), rule, ...text.map(line), rule].join('\n')}\n`;
}

export function toMarkdown(headers: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const line = (cells: readonly (string | number | null)[]) =>
    `| ${cells.map((c) => (c === null ? '' : String(c).replace(/\|/g, '\\|'))).join(' | ')} |`;
  return `${[line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n')}\n`;
}

const EVENT_HEADERS = ['observedAt', 'cluster', 'type', 'id', 'description'];

export function renderEvents(events: readonly ClusterEvent[], format: Exclude<Format, 'md' | 'html'>): string {
  if (format === 'json') return events.map((e) => JSON.stringify(e)).join('\n') + (events.length > 0 ? '\n' : '');
  const rows = events.map((e) => [iso(e.observedAt), e.cluster, e.type, e.id, describeEvent(e)]);
  return format === 'csv' ? toCsv(EVENT_HEADERS, rows) : toTable(EVENT_HEADERS, rows);
}

const INCIDENT_HEADERS = [
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
];

function incidentRow(i: Incident): (string | number | null)[] {
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
    // After the outage, not part of it: until every other member streamed from the new leader again.
    if (!i.redundancyRestoredAt) return rows;
    const label = 'until the replicas streamed again (after writes stable)';
    return [...rows, line('redundancy', label, i.redundancyRestoredAt - from, 'redundancy_restored')];
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
export function incidentJson(i: Incident) {
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
  };
}

/** Incidents, then (table and md) the phases of those that have an anatomy. CSV is one table: the incidents. */
export function renderIncidents(incidents: readonly Incident[], format: Exclude<Format, 'html'>): string {
  if (format === 'json') return `${JSON.stringify(incidents.map(incidentJson), null, 2)}\n`;
  const rows = incidents.map(incidentRow);
  if (format === 'csv') return toCsv(INCIDENT_HEADERS, rows);
  const phases = phaseRows(incidents).length > 0;
  if (format === 'md') return toMarkdown(INCIDENT_HEADERS, rows) + (phases ? `\n### Phases\n\n${renderPhases(incidents, 'md')}` : '');
  return toTable(INCIDENT_HEADERS, rows) + (phases ? `\nPhases\n${renderPhases(incidents, 'table')}` : '');
}

function summaryRows(report: SlaReport): [string, string][] {
  return [
    ['period', `${iso(report.period.start)} - ${iso(report.period.end)}`],
    ['availability', percent(report.availabilityPercent)],
    ['availability without planned switchovers', percent(report.availabilityUnplannedPercent)],
    [
      'availability bounds (best - worst)',
      `${percent(report.availabilityBoundsPercent.best)} - ${percent(report.availabilityBoundsPercent.worst)}`,
    ],
    ['SLO', `${report.sloPercent} %`],
    ['downtime', `${seconds(report.downtimeMs)} s`],
    ['error budget', `${seconds(report.errorBudgetMs)} s, ${report.errorBudgetUsedPercent.toFixed(1)} % used`],
    ['failovers / switchovers / unknown', `${report.failovers} / ${report.switchovers} / ${report.unknown}`],
    ['mean time to recovery', report.mttrMs === null ? '-' : `${seconds(report.mttrMs)} s`],
    ['mean time between failures', report.mtbfMs === null ? '-' : `${(report.mtbfMs / 3_600_000).toFixed(1)} h`],
  ];
}

export function renderSla(report: SlaReport, format: Format, title: string, events: readonly ClusterEvent[] = []): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(
        {
          title,
          period: { start: iso(report.period.start), end: iso(report.period.end) },
          sloPercent: report.sloPercent,
          availabilityPercent: report.availabilityPercent,
          availabilityUnplannedPercent: report.availabilityUnplannedPercent,
          availabilityBoundsPercent: report.availabilityBoundsPercent,
          downtimeSeconds: report.downtimeMs / 1000,
          failovers: report.failovers,
          switchovers: report.switchovers,
          unknown: report.unknown,
          mttrSeconds: report.mttrMs === null ? null : report.mttrMs / 1000,
          mtbfSeconds: report.mtbfMs === null ? null : report.mtbfMs / 1000,
          errorBudgetSeconds: report.errorBudgetMs / 1000,
          errorBudgetUsedPercent: report.errorBudgetUsedPercent,
          incidents: report.incidents.map(incidentJson),
        },
        null,
        2,
      )}\n`;
    case 'csv':
      return renderIncidents(report.incidents, 'csv');
    case 'md':
      return `# ${title}\n\n${toMarkdown(['measure', 'value'], summaryRows(report))}\n## Incidents\n\n${renderIncidents(report.incidents, 'md')}`;
    case 'table':
      return `${title}\n${toTable(['measure', 'value'], summaryRows(report))}${renderIncidents(report.incidents, 'table')}`;
    case 'html':
      return slaHtml(report, title, events);
  }
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

type Role = 'leader' | 'replica' | 'down';
interface Segment {
  readonly start: number;
  readonly end: number;
  readonly role: Role;
}

/** Per member, when it was leader, replica or unreachable, from the recorded events. */
export function memberTimelines(events: readonly ClusterEvent[], period: { start: number; end: number }): Map<string, Segment[]> {
  const sorted = [...events].sort((a, b) => a.observedAt - b.observedAt);
  const current = new Map<string, { role: Role; since: number }>();
  const timelines = new Map<string, Segment[]>();
  const set = (member: string, role: Role, at: number) => {
    const now = current.get(member);
    if (now?.role === role) return;
    if (now) timelines.set(member, [...(timelines.get(member) ?? []), { start: now.since, end: at, role: now.role }]);
    current.set(member, { role, since: at });
  };
  let leader: string | null = null;
  for (const e of sorted) {
    if (e.type === 'watch_started') {
      for (const m of e.members) set(m, m === e.leader ? 'leader' : 'replica', e.observedAt);
      leader = e.leader;
    } else if (e.type === 'leader_changed' && !e.reconciled) {
      if (e.from && current.get(e.from)?.role === 'leader') set(e.from, 'replica', e.observedAt);
      set(e.to, 'leader', e.observedAt);
      leader = e.to;
    } else if (e.type === 'member_unreachable') {
      set(e.member, 'down', e.observedAt);
    } else if (e.type === 'member_reachable') {
      set(e.member, e.member === leader ? 'leader' : 'replica', e.observedAt);
    }
  }
  for (const [member, now] of current)
    timelines.set(member, [...(timelines.get(member) ?? []), { start: now.since, end: period.end, role: now.role }]);
  for (const [member, segments] of timelines) {
    timelines.set(
      member,
      segments
        .map((s) => ({ ...s, start: Math.max(s.start, period.start), end: Math.min(s.end, period.end) }))
        .filter((s) => s.end > s.start),
    );
  }
  return timelines;
}

const COLOURS: Record<Role | 'outage', string> = { leader: '#2e7d32', replica: '#90caf9', down: '#9e9e9e', outage: '#c62828' };

const PHASE_COLOURS: Record<PhaseName, string> = {
  detection: '#bdbdbd',
  leader_key: '#ef6c00',
  promotion: '#6a1b9a',
  new_primary: '#1565c0',
  haproxy: '#00838f',
  vip_path: '#2e7d32',
  flapping: '#c62828',
};

/** Each incident with an anatomy as one bar split by phase, scaled to the longest incident shown. */
function anatomyHtml(incidents: readonly Incident[]): string {
  const withAnatomy = incidents.filter((i): i is Incident & { anatomy: IncidentAnatomy } => i.anatomy !== null);
  if (withAnatomy.length === 0) return '';
  const width = 700;
  const longest = Math.max(...withAnatomy.map((i) => i.anatomy.outageMs), 1);
  const rowHeight = 40;
  const bars = withAnatomy.map((incident, row) => {
    const y = row * rowHeight;
    let offset = 0;
    const segments = incident.anatomy.phases.map((p) => {
      const x = (offset / longest) * width;
      const w = (p.durationMs / longest) * width;
      offset += p.durationMs;
      return `<rect x="${x.toFixed(2)}" y="${y + 14}" width="${Math.max(0, w).toFixed(2)}" height="18" fill="${PHASE_COLOURS[p.name]}" data-phase="${p.name}"><title>${escapeHtml(`${p.label}: ${seconds(p.durationMs)} s`)}</title></rect>`;
    });
    const flag = incident.anatomy.longerThanPredicted ? ' — longer than predicted' : '';
    const caption = `${incident.cluster} ${iso(incident.start)}: ${seconds(incident.anatomy.outageMs)} s, ${causeWords(incident.anatomy.cause.kind)}${flag}`;
    return `<text x="0" y="${y + 10}">${escapeHtml(caption)}</text>${segments.join('')}`;
  });
  const legend = (Object.entries(PHASE_COLOURS) as [PhaseName, string][])
    .map(([name, colour]) => `<span><i style="background:${colour}"></i>${name.replace('_', ' ')}</span>`)
    .join(' ');
  return `<h2>Incident anatomy</h2>
<div class="legend">${legend}</div>
<svg width="${width + 20}" height="${withAnatomy.length * rowHeight + 10}" role="img" aria-label="each incident's write outage split by phase" class="anatomy">
${bars.join('\n')}
</svg>`;
}

/** One self-contained HTML file: no script, no stylesheet or font from the network. */
function slaHtml(report: SlaReport, title: string, events: readonly ClusterEvent[]): string {
  const { start, end } = report.period;
  const width = 900;
  const x = (t: number) => (((Math.min(Math.max(t, start), end) - start) / (end - start)) * width).toFixed(2);
  const timelines = [...memberTimelines(events, report.period)].sort(([a], [b]) => a.localeCompare(b));
  const rowHeight = 22;
  const rows = [
    ...timelines.map(([member, segments], i) => {
      const bars = segments.map(
        (s) =>
          `<rect x="${x(s.start)}" y="${i * rowHeight}" width="${Math.max(0.5, Number(x(s.end)) - Number(x(s.start))).toFixed(2)}" height="${rowHeight - 4}" fill="${COLOURS[s.role]}"><title>${escapeHtml(member)} ${s.role} ${iso(s.start)} - ${iso(s.end)}</title></rect>`,
      );
      return `<text x="-8" y="${i * rowHeight + 14}" text-anchor="end">${escapeHtml(member)}</text>${bars.join('')}`;
    }),
    `<text x="-8" y="${timelines.length * rowHeight + 14}" text-anchor="end">writes out</text>` +
      report.incidents
        .map(
          (i) =>
            `<rect x="${x(i.start)}" y="${timelines.length * rowHeight}" width="${Math.max(1, Number(x(i.end ?? end)) - Number(x(i.start))).toFixed(2)}" height="${rowHeight - 4}" fill="${COLOURS.outage}"><title>${iso(i.start)}: ${(i.downtimeMs / 1000).toFixed(1)} s (${i.kind})</title></rect>`,
        )
        .join(''),
  ];
  const height = (timelines.length + 1) * rowHeight;
  const summary = summaryRows(report)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('');
  const incidents = report.incidents
    .map(
      (i) =>
        `<tr>${incidentRow(i)
          .map((c) => `<td>${escapeHtml(c === null ? '' : String(c))}</td>`)
          .join('')}</tr>`,
    )
    .join('');
  const legend = (Object.entries(COLOURS) as [string, string][])
    .map(([k, c]) => `<span><i style="background:${c}"></i>${k === 'outage' ? 'writes out' : k}</span>`)
    .join(' ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px}th{background:#f4f4f4}
svg text{font-size:12px}.legend i{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<table>${summary}</table>
<h2>Timeline</h2>
<div class="legend">${legend}</div>
<svg width="${width + 120}" height="${height + 30}" viewBox="-110 -5 ${width + 120} ${height + 30}" role="img" aria-label="member roles and write outages over the period">
${rows.join('\n')}
<text x="0" y="${height + 18}">${escapeHtml(iso(start))}</text><text x="${width}" y="${height + 18}" text-anchor="end">${escapeHtml(iso(end))}</text>
</svg>
<h2>Incidents</h2>
<table><tr>${INCIDENT_HEADERS.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${incidents}</table>
${anatomyHtml(report.incidents)}
</body></html>
`;
}
