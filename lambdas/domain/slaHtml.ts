import { causeWords, type IncidentAnatomy, type PhaseName } from './anatomy.js';
import type { UnwatchedInterval } from './coverage.js';
import type { ClusterEvent } from './events.js';
import {
  type ClusterRendering,
  FLEET_HEADERS,
  fleetRow,
  INCIDENT_HEADERS,
  incidentRow,
  iso,
  seconds,
  summaryRows,
  verdictLine,
} from './reportFormats.js';
import {
  countedDowntime,
  duration,
  FLEET_DEFINITION,
  type FleetReport,
  type Incident,
  type Interval,
  type SlaReport,
  totalMs,
} from './sla.js';
import { neutralise } from './text.js';

/**
 * The SLA report as one self-contained HTML file (pure): no script, no stylesheet, font or image from the
 * network; every chart is inline SVG. Per cluster: the verdict first, then a timeline whose member rows start
 * from the state the cluster was in when the period began, the incidents to scale, the error budget burning
 * down, unwatched time hatched wherever it is, and the incidents with their phases.
 */

export const escapeHtml = (s: string) =>
  neutralise(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

type Role = 'leader' | 'replica' | 'down' | 'unknown';

export interface Segment extends Interval {
  readonly role: Role;
}

/**
 * Per member, when it was leader, replica or unreachable. The events should begin at a baseline before the
 * period (`eventsBefore`); a member whose state at the period's start is still not known starts as `unknown`.
 */
export function memberTimelines(events: readonly ClusterEvent[], period: Interval): Map<string, Segment[]> {
  const current = new Map<string, { role: Role; since: number }>();
  const timelines = new Map<string, Segment[]>();
  const set = (member: string, role: Role, at: number) => {
    const now = current.get(member) ?? { role: 'unknown' as const, since: Number.NEGATIVE_INFINITY };
    if (now.role === role) return;
    timelines.set(member, [...(timelines.get(member) ?? []), { start: now.since, end: at, role: now.role }]);
    current.set(member, { role, since: at });
  };
  let leader: string | null = null;
  for (const e of [...events].sort((a, b) => a.observedAt - b.observedAt)) {
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
    const clipped = segments
      .map((s) => ({ ...s, start: Math.max(s.start, period.start), end: Math.min(s.end, period.end) }))
      .filter((s) => s.end > s.start);
    if (clipped.length === 0) timelines.delete(member);
    else timelines.set(member, clipped);
  }
  return timelines;
}

const COLOURS = { leader: '#2e7d32', replica: '#90caf9', down: '#616161', unknown: '#e0e0e0', outage: '#c62828' } as const;

const PHASE_COLOURS: Record<PhaseName, string> = {
  detection: '#bdbdbd',
  leader_key: '#ef6c00',
  promotion: '#6a1b9a',
  new_primary: '#1565c0',
  haproxy: '#00838f',
  vip_path: '#2e7d32',
  flapping: '#c62828',
};

const VERDICT_COLOURS = { met: '#2e7d32', at_risk: '#ef6c00', breached: '#c62828', no_data: '#616161' } as const;

/** Width of the time axis of every chart, in pixels. */
const WIDTH = 900;
/** Room left of the axis for row labels. */
const LABEL_WIDTH = 190;
/** An incident shorter than a pixel is still drawn this wide, and labelled with its length. */
const MIN_INCIDENT_PX = 3;
const ROW = 22;

type Scale = (t: number) => number;

function scaleOf(period: Interval): Scale {
  return (t) => ((Math.min(Math.max(t, period.start), period.end) - period.start) / (period.end - period.start)) * WIDTH;
}

const px = (n: number) => n.toFixed(2);

function rect(a: { x: number; y: number; w: number; h: number; fill: string; title: string; extra?: string }): string {
  return `<rect x="${px(a.x)}" y="${px(a.y)}" width="${px(Math.max(0, a.w))}" height="${a.h}" fill="${a.fill}"${a.extra ?? ''}><title>${escapeHtml(a.title)}</title></rect>`;
}

const TICK_STEPS = [60_000, 300_000, 900_000, 3_600_000, 6 * 3_600_000, 86_400_000, 7 * 86_400_000];
/** 1970-01-01 was a Thursday: week ticks fall on Mondays, four days later. */
const MONDAY_OFFSET_MS = 4 * 86_400_000;

/** Ticks at round UTC instants (minutes, hours, days, Mondays), no more than about 40, a label on a few of them. */
export function axisTicks(period: Interval): { at: number; label: string | null }[] {
  const span = period.end - period.start;
  const step = TICK_STEPS.find((s) => span / s <= 40) ?? TICK_STEPS[TICK_STEPS.length - 1]!;
  const offset = step === 7 * 86_400_000 ? MONDAY_OFFSET_MS : 0;
  const ticks: number[] = [];
  for (let t = Math.ceil((period.start - offset) / step) * step + offset; t <= period.end; t += step) ticks.push(t);
  const every = Math.max(1, Math.ceil(ticks.length / 10));
  return ticks.map((at, i) => ({ at, label: i % every === 0 ? tickLabel(at, step) : null }));
}

function tickLabel(at: number, step: number): string {
  const text = iso(at);
  return step >= 86_400_000 ? text.slice(5, 10) : text.slice(11, 16);
}

function axis(period: Interval, x: Scale, y: number): string {
  const ticks = axisTicks(period).map(
    (t) =>
      `<line x1="${px(x(t.at))}" x2="${px(x(t.at))}" y1="${y}" y2="${y + (t.label ? 6 : 3)}" stroke="#555"/>` +
      (t.label ? `<text x="${px(x(t.at))}" y="${y + 17}" text-anchor="middle" class="tick">${t.label}</text>` : ''),
  );
  return `<g class="axis"><line x1="0" x2="${WIDTH}" y1="${y}" y2="${y}" stroke="#555"/>${ticks.join('')}</g>`;
}

function hatching(unwatched: readonly UnwatchedInterval[], x: Scale, height: number): string {
  return unwatched
    .map((u) =>
      rect({
        x: x(u.start),
        y: 0,
        w: Math.max(1, x(u.end) - x(u.start)),
        h: height,
        fill: 'url(#unwatched)',
        title: `not watched ${iso(u.start)} - ${iso(u.end)} (${duration(u.end - u.start)}): ${u.reason}`,
        extra: ' class="unwatched"',
      }),
    )
    .join('');
}

function outageBars(incidents: readonly Incident[], period: Interval, x: Scale, y: number): string {
  return incidents
    .map((i) => {
      const end = i.end ?? period.end;
      const w = Math.max(MIN_INCIDENT_PX, x(end) - x(i.start));
      const label = `${seconds(i.downtimeMs)} s`;
      return `${rect({
        x: x(i.start),
        y,
        w,
        h: ROW - 4,
        fill: COLOURS.outage,
        title: `${iso(i.start)}: ${label} (${i.kind})`,
        extra: ` class="outage" data-incident="${escapeHtml(i.id)}"`,
      })}<text x="${px(x(i.start) + w + 2)}" y="${y + 13}" class="outage-label">${label}</text>`;
    })
    .join('');
}

/** Member rows from the state at the period's start, the outages, unwatched time hatched over all of it. */
function timelineSvg(r: ClusterRendering): string {
  const { period, coverage } = r.report;
  const x = scaleOf(period);
  const members = [...memberTimelines(r.events ?? [], period)].sort(([a], [b]) => a.localeCompare(b));
  const rows = members.map(([member, segments], row) => {
    const bars = segments.map((s) =>
      rect({
        x: x(s.start),
        y: row * ROW,
        w: Math.max(0.5, x(s.end) - x(s.start)),
        h: ROW - 4,
        fill: COLOURS[s.role],
        title: `${member} ${s.role} ${iso(s.start)} - ${iso(s.end)}`,
        extra: ` class="member ${s.role}"`,
      }),
    );
    return `<g class="member-row" data-member="${escapeHtml(member)}"><text x="-8" y="${row * ROW + 14}" text-anchor="end">${escapeHtml(member)}</text>${bars.join('')}</g>`;
  });
  const outageY = members.length * ROW;
  const height = outageY + ROW;
  return `<svg width="${WIDTH + LABEL_WIDTH + 60}" height="${height + 30}" viewBox="${-LABEL_WIDTH} -5 ${WIDTH + LABEL_WIDTH + 60} ${height + 30}" role="img" aria-label="member roles, write outages and unwatched time over the period" class="timeline">
${HATCH_PATTERN}
${rows.join('\n')}
<g class="outages"><text x="-8" y="${outageY + 14}" text-anchor="end">writes out</text>${outageBars(r.report.incidents, period, x, outageY)}</g>
${hatching(coverage.unwatched, x, height)}
${axis(period, x, height + 2)}
</svg>`;
}

const HATCH_PATTERN =
  '<defs><pattern id="unwatched" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff" fill-opacity="0.6"/><line x1="0" y1="0" x2="0" y2="6" stroke="#757575" stroke-width="2"/></pattern></defs>';

/** Every incident as a bar on one common scale (the longest shown full width), so lengths compare at a glance. */
function incidentsToScale(incidents: readonly Incident[]): string {
  if (incidents.length === 0) return '';
  const longest = Math.max(...incidents.map((i) => i.downtimeMs), 1);
  const bars = incidents.map((i, row) => {
    const w = Math.max(1, (i.downtimeMs / longest) * (WIDTH - 80));
    const caption = `${iso(i.start)} ${i.kind}`;
    return `<text x="-8" y="${row * ROW + 14}" text-anchor="end">${escapeHtml(caption)}</text>${rect({
      x: 0,
      y: row * ROW,
      w,
      h: ROW - 4,
      fill: COLOURS.outage,
      title: `${seconds(i.downtimeMs)} s (${seconds(i.downtimeMinMs)} - ${seconds(i.downtimeMaxMs)} s)`,
      extra: ` class="incident-bar" data-incident="${escapeHtml(i.id)}" data-downtime-ms="${Math.round(i.downtimeMs)}"`,
    })}<text x="${px(w + 4)}" y="${row * ROW + 14}">${seconds(i.downtimeMs)} s</text>`;
  });
  return `<h3>Incidents to scale</h3>
<svg width="${WIDTH + LABEL_WIDTH + 60}" height="${incidents.length * ROW + 10}" viewBox="${-LABEL_WIDTH - 60} -5 ${WIDTH + LABEL_WIDTH + 60} ${incidents.length * ROW + 10}" role="img" aria-label="each incident's downtime on one scale" class="to-scale">
${bars.join('\n')}
</svg>`;
}

/** Budget used by `t`: the part of the intervals before it. */
function usedBy(intervals: readonly Interval[], t: number): number {
  return intervals.reduce((sum, i) => sum + Math.max(0, Math.min(i.end, t) - i.start), 0);
}

const BURN_HEIGHT = 140;
const BURN_SAMPLES = 300;

/**
 * The error budget over the period: what is left after the measured downtime (solid), and what would be left
 * if every unwatched second and every incident at its upper bound were down (dashed).
 */
function burnDownSvg(report: SlaReport): string {
  const { period, coverage, policy, errorBudgetMs } = report;
  const x = scaleOf(period);
  const counted = report.incidents.filter((i) => i.excludedBy !== 'planned');
  const measured = countedDowntime(counted, coverage, policy, (i) => i.downtimeMs);
  const worst = [...countedDowntime(counted, coverage, policy, (i) => i.downtimeMaxMs), ...coverage.unwatched];
  const lowest = Math.min(0, errorBudgetMs - totalMs(measured), errorBudgetMs - totalMs(worst));
  const y = (left: number) => ((errorBudgetMs - left) / Math.max(1, errorBudgetMs - lowest)) * BURN_HEIGHT;
  const line = (intervals: readonly Interval[]) =>
    Array.from({ length: BURN_SAMPLES + 1 }, (_, k) => {
      const t = period.start + ((period.end - period.start) * k) / BURN_SAMPLES;
      return `${px(x(t))},${px(y(errorBudgetMs - usedBy(intervals, t)))}`;
    }).join(' ');
  return `<h3>Error budget</h3>
<p>Budget ${escapeHtml(duration(errorBudgetMs))} for ${report.sloPercent} %: ${escapeHtml(duration(report.errorBudgetRemainingMs))} left after the measured downtime (solid); dashed, if every unwatched second and every incident at its upper bound were down.</p>
<svg width="${WIDTH + LABEL_WIDTH + 60}" height="${BURN_HEIGHT + 40}" viewBox="${-LABEL_WIDTH} -10 ${WIDTH + LABEL_WIDTH + 60} ${BURN_HEIGHT + 40}" role="img" aria-label="error budget remaining over the period" class="burn-down">
${burnLabels(lowest, y)}
<line x1="0" x2="${WIDTH}" y1="${px(y(0))}" y2="${px(y(0))}" stroke="#c62828" stroke-dasharray="2 2"/>
<polyline points="${line(worst)}" fill="none" stroke="#ef6c00" stroke-dasharray="6 4" class="worst"/>
<polyline points="${line(measured)}" fill="none" stroke="#1565c0" stroke-width="2" class="measured"/>
${axis(period, x, BURN_HEIGHT + 4)}
</svg>`;
}

/**
 * The budget axis: all of it at the top and the worst overspend at the bottom on the left, zero on the right, so
 * the labels never overlap when a small budget is spent many times over (zero then sits close to the top).
 */
function burnLabels(lowest: number, y: (left: number) => number): string {
  const labels = [
    `<text x="-8" y="4" text-anchor="end">100 % left</text>`,
    `<text x="${WIDTH + 4}" y="${px(y(0) + 4)}" text-anchor="start">0 left</text>`,
  ];
  if (lowest < 0) labels.push(`<text x="-8" y="${px(y(lowest) + 4)}" text-anchor="end">${escapeHtml(duration(lowest))} left</text>`);
  return labels.join('');
}

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
      offset += p.durationMs;
      return rect({
        x,
        y: y + 14,
        w: (p.durationMs / longest) * width,
        h: 18,
        fill: PHASE_COLOURS[p.name],
        title: `${p.label}: ${seconds(p.durationMs)} s`,
        extra: ` data-phase="${p.name}"`,
      });
    });
    const flag = incident.anatomy.longerThanPredicted ? ' — longer than predicted' : '';
    const caption = `${incident.cluster} ${iso(incident.start)}: ${seconds(incident.anatomy.outageMs)} s, ${causeWords(incident.anatomy.cause.kind)}${flag}`;
    return `<text x="0" y="${y + 10}">${escapeHtml(caption)}</text>${segments.join('')}`;
  });
  return `<h3>Incident anatomy</h3>
${legend(PHASE_COLOURS)}
<svg width="${width + 20}" height="${withAnatomy.length * rowHeight + 10}" role="img" aria-label="each incident's write outage split by phase" class="anatomy">
${bars.join('\n')}
</svg>`;
}

function legend(colours: Readonly<Record<string, string>>): string {
  const items = Object.entries(colours).map(
    ([name, colour]) => `<span><i style="background:${colour}"></i>${name.replace('_', ' ')}</span>`,
  );
  return `<div class="legend">${items.join(' ')}</div>`;
}

function table(headers: readonly string[], rows: readonly (readonly (string | number | null)[])[], className = ''): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c === null ? '' : String(c))}</td>`).join('')}</tr>`).join('');
  return `<table class="${className}"><tr>${head}</tr>${body}</table>`;
}

function verdictBanner(report: SlaReport): string {
  const colour = VERDICT_COLOURS[report.verdict.status];
  return `<p class="verdict ${report.verdict.status}" style="border-left:8px solid ${colour}">${escapeHtml(verdictLine(report))}</p>`;
}

function clusterSection(r: ClusterRendering, heading: 'h1' | 'h2'): string {
  const { report } = r;
  const summary = summaryRows(report)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('');
  const unwatched = report.coverage.unwatched.map((u) => [iso(u.start), iso(u.end), duration(u.end - u.start), u.reason]);
  return `<section class="cluster" data-cluster="${escapeHtml(r.cluster)}">
<${heading}>${escapeHtml(r.title)}</${heading}>
${verdictBanner(report)}
<table>${summary}</table>
<h3>Timeline</h3>
${legend({ ...COLOURS, 'not watched': '#9e9e9e' })}
${timelineSvg(r)}
${incidentsToScale(report.incidents)}
${burnDownSvg(report)}
${unwatched.length > 0 ? `<h3>Unwatched time</h3>${table(['from', 'to', 'duration', 'why'], unwatched)}` : ''}
<h3>Incidents</h3>
${table(INCIDENT_HEADERS, report.incidents.map(incidentRow), 'incidents')}
${anatomyHtml(report.incidents)}
</section>`;
}

function fleetSection(fleet: FleetReport): string {
  const rows = fleet.clusters.map((c) => fleetRow(c.cluster, c.report));
  const v = fleet.verdicts;
  const worst = fleet.worst ? `${fleet.worst.cluster} at ${fleet.worst.availabilityPercent.toFixed(4)} %` : 'none watched';
  return `<p class="verdict fleet">${v.met} met, ${v.at_risk} at risk, ${v.breached} breached, ${v.no_data} without data; fleet ${
    fleet.availabilityPercent === null ? 'no data' : `${fleet.availabilityPercent.toFixed(4)} %`
  } (coverage ${(100 * fleet.coverage).toFixed(2)} %); worst cluster ${escapeHtml(worst)}</p>
<p class="definition">${escapeHtml(FLEET_DEFINITION)}.</p>
${table(FLEET_HEADERS, rows, 'fleet')}`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;font-size:12px}th{background:#f4f4f4}
svg text{font-size:12px}svg .tick{font-size:10px;fill:#555}.outage-label{font-size:10px;fill:#c62828}
.legend i{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.verdict{font-size:16px;padding:6px 12px;background:#fafafa}`;

/** A fleet report draws this many clusters in full: those with the lowest lower bound; the rest are table rows. */
const FLEET_SECTIONS = 20;

function worstFirst(clusters: readonly ClusterRendering[]): ClusterRendering[] {
  return clusters
    .filter((c) => c.report.incidents.length > 0 || c.report.coverage.unwatched.length > 0)
    .sort((a, b) => a.report.availabilityBoundsPercent.lower - b.report.availabilityBoundsPercent.lower)
    .slice(0, FLEET_SECTIONS);
}

/**
 * The whole file: a fleet's table first when given, then one section per cluster, the verdict at the top of each.
 * A fleet report draws the clusters most at risk in full (a thousand sections would be tens of megabytes).
 */
export function slaHtml(clusters: readonly ClusterRendering[], options: { title: string; fleet: FleetReport | null }): string {
  const sections = options.fleet ? worstFirst(clusters).map((c) => clusterSection(c, 'h2')) : clusters.map((c) => clusterSection(c, 'h1'));
  const omitted = options.fleet ? clusters.length - sections.length : 0;
  const more = omitted > 0 ? `<p class="more">${omitted} more clusters are rows of the table above; each has its own report.</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(options.title)}</title>
<style>
${STYLE}
</style></head><body>
${options.fleet ? `<h1>${escapeHtml(options.title)}</h1>\n${fleetSection(options.fleet)}` : ''}
${sections.join('\n')}
${more}
</body></html>
`;
}
