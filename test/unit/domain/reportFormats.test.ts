import { describe, expect, it } from 'vitest';
import { incidentAnatomy, SAMPLE_HAPROXY_TIMINGS } from '../../../lambdas/domain/anatomy.js';
import { coverageOf } from '../../../lambdas/domain/coverage.js';
import { type ClusterEvent, makeEvent } from '../../../lambdas/domain/events.js';
import {
  renderFleet,
  renderIncidents,
  renderLeaders,
  renderPhases,
  renderSla,
  toCsv,
  toTable,
} from '../../../lambdas/domain/reportFormats.js';
import { DEFAULT_SLO, fleetReport, type Incident, monthPeriod, type SlaReport, slaReport } from '../../../lambdas/domain/sla.js';
import { axisTicks, memberTimelines } from '../../../lambdas/domain/slaHtml.js';
import { leaderChangedEvent } from '../../support/factories.js';

const NOV = monthPeriod('2026-11');
const incident: Incident = {
  cluster: 'denemek',
  id: 'denemek:0000000002:000',
  kind: 'failover',
  planned: false,
  start: NOV.start + 86_400_000,
  end: NOV.start + 86_400_000 + 21_000,
  downtimeMs: 21_000,
  downtimeMinMs: 19_500,
  downtimeMaxMs: 22_300,
  measuredBy: 'write_verified',
  from: 'pg_node1',
  to: 'pg_node2',
  walBytesAtRisk: 80,
  anatomy: null,
};
const FULL = coverageOf({ firstWatchedAt: NOV.start - 1, lastPolledAt: NOV.end, gaps: [] }, NOV, NOV.end + 1);
const report = slaReport([incident], FULL, DEFAULT_SLO);
const render = (r: SlaReport, format: Parameters<typeof renderSla>[1], title = 't', events: ClusterEvent[] = []) =>
  renderSla({ cluster: 'denemek', report: r, title, events }, format);
const base = { cluster: 'denemek', previousObservedAt: null, happenedAt: null, reconciled: false };
const events = [
  { ...base, id: 'a', type: 'watch_started', observedAt: NOV.start, leader: 'pg_node1', timeline: 1, members: ['pg_node1', 'pg_node2'] },
  {
    ...base,
    id: 'b',
    type: 'member_unreachable',
    observedAt: incident.start,
    member: 'pg_node1',
    url: 'u',
    status: 'unreachable',
    error: 'refused',
    wasLeader: true,
  },
  leaderChangedEvent({ ...base, id: 'c', observedAt: incident.start + 20_000 }),
] as ClusterEvent[];

describe('Function: renderSla', () => {
  it('gives JSON whose incidents carry start, end, downtime and its bounds, and kind', () => {
    const json = JSON.parse(render(report, 'json'));
    expect(json.incidents).toEqual([
      expect.objectContaining({
        start: '2026-11-02T00:00:00.000Z',
        end: '2026-11-02T00:00:21.000Z',
        downtimeSeconds: 21,
        downtimeMinSeconds: 19.5,
        downtimeMaxSeconds: 22.3,
        kind: 'failover',
      }),
    ]);
    expect(json.availabilityPercent).toBeCloseTo(100 * (1 - 21 / 2_592_000), 10);
    expect(json.coverage).toBe(1);
    expect(json.verdict).toEqual({ status: 'met', reason: expect.stringContaining('within the error budget of 21.6 min') });
  });

  it('puts the coverage, the unwatched intervals and the verdict in every format', () => {
    const half = coverageOf({ firstWatchedAt: NOV.start + 15 * 86_400_000, lastPolledAt: NOV.end, gaps: [] }, NOV, NOV.end + 1);
    const partial = slaReport([], half, DEFAULT_SLO);
    const json = JSON.parse(render(partial, 'json'));
    expect(json.coverage).toBeCloseTo(0.5, 10);
    expect(json.unwatched).toEqual([
      { start: '2026-11-01T00:00:00.000Z', end: '2026-11-16T00:00:00.000Z', seconds: 1_296_000, reason: 'before_first_watch' },
    ]);
    for (const format of ['table', 'md', 'html'] as const) {
      const text = render(partial, format);
      expect(text).toContain('AT RISK');
      expect(text).toMatch(/50\.00 % watched/);
    }
    const csv = render(partial, 'csv').split('\n');
    expect(csv[0]).toContain('coverage');
    expect(csv[1]).toContain(',0.5000,');
  });

  it('writes one self-contained HTML file: no script and nothing fetched from the network', () => {
    const html = render(report, 'html', 'November <2026>', events);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|https?:\/\/|@import|url\((?!#)/i);
    expect(html).toContain('November &lt;2026&gt;');
    expect(html).toContain('writes out');
    expect(html.match(/<rect /g)?.length).toBeGreaterThanOrEqual(4);
  });

  it('renders a Markdown summary with the incident table', () => {
    const md = render(report, 'md', 'November');
    expect(md).toContain('# November');
    expect(md).toContain('| denemek | 2026-11-02T00:00:00.000Z | 2026-11-02T00:00:21.000Z | 21.0 | 19.5 | 22.3 | failover |');
  });
});

describe('Function: memberTimelines', () => {
  it('shows who was leader, replica or down, when', () => {
    const timelines = memberTimelines(events, NOV);
    expect(timelines.get('pg_node1')!.map((s) => s.role)).toEqual(['leader', 'down']);
    expect(timelines.get('pg_node2')!.map((s) => s.role)).toEqual(['replica', 'leader']);
  });

  it("starts each member at the period's first instant from the events before it (the second month of a cluster)", () => {
    const DEC = monthPeriod('2026-12');
    const timelines = memberTimelines(events, DEC);
    expect(timelines.get('pg_node1')).toEqual([{ start: DEC.start, end: DEC.end, role: 'down' }]);
    expect(timelines.get('pg_node2')).toEqual([{ start: DEC.start, end: DEC.end, role: 'leader' }]);
  });

  it('starts a member whose state is not known yet as unknown, from the first instant', () => {
    const [, ...withoutBaseline] = events;
    expect(
      memberTimelines(withoutBaseline, NOV)
        .get('pg_node2')!
        .map((s) => [s.role, s.start === NOV.start]),
    ).toEqual([
      ['unknown', true],
      ['leader', false],
    ]);
  });
});

describe('Function: axisTicks', () => {
  it('ticks a month by the day, labelling every few, and an hour by the five minutes', () => {
    const month = axisTicks(NOV);
    expect(month).toHaveLength(31);
    expect(month[0]).toEqual({ at: NOV.start, label: '11-01' });
    const hour = axisTicks({ start: NOV.start, end: NOV.start + 3_600_000 });
    expect(hour.map((t) => t.label).filter(Boolean)).toContain('00:30');
  });
});

describe('Function: renderFleet', () => {
  it('gives one row per cluster and a fleet row whose meaning is stated next to it', () => {
    const fleet = fleetReport(
      [
        { cluster: 'a', report },
        { cluster: 'b', report: slaReport([], FULL, DEFAULT_SLO) },
      ],
      NOV,
    );
    const table = renderFleet(fleet, 'table', 'November');
    expect(table).toMatch(/\| a +\| 99\.9992 %/);
    expect(table).toContain('FLEET (2 clusters)');
    expect(table).toContain('worst: a');
    expect(table).toContain('fleet availability = watched cluster-time with writes working / all watched cluster-time');
    const json = JSON.parse(renderFleet(fleet, 'json', 'November'));
    expect(json.fleet.definition).toContain('each cluster weighs by the time it was watched');
    expect(json.clusters.map((c: { cluster: string; verdict: { status: string } }) => [c.cluster, c.verdict.status])).toEqual([
      ['a', 'met'],
      ['b', 'met'],
    ]);
  });
});

describe('Function: renderFleet as HTML', () => {
  it('draws the 20 clusters most at risk in full and leaves the rest as rows', () => {
    const clusters = Array.from({ length: 25 }, (_, i) => ({ cluster: `c${String(i).padStart(2, '0')}`, report }));
    const html = renderFleet(fleetReport(clusters, NOV), 'html', 'November');
    expect(html.match(/<section class="cluster"/g)).toHaveLength(20);
    expect(html).toContain('5 more clusters are rows of the table above');
    expect(html.match(/<tr><td>c\d\d<\/td>/g)).toHaveLength(25);
  });
});

describe('Function: renderLeaders', () => {
  it('lists who led when, with the evidence, and neutralises member names', () => {
    const csv = renderLeaders(
      [
        {
          start: NOV.start,
          end: NOV.start + 60_000,
          holder: { kind: 'member', name: 'pg\u001b[2Jnode1' },
          evidence: { id: 'x', type: 'watch_started' },
        },
      ],
      'csv',
    );
    expect(csv).toBe('from,to,duration,leader,evidence\n2026-11-01T00:00:00.000Z,2026-11-01T00:01:00.000Z,60.0 s,pg?[2Jnode1,x\n');
  });
});

describe('Function: toTable', () => {
  it('neutralises control characters in cells, so one row stays one line', () => {
    expect(
      toTable(['a'], [['x\ny']])
        .trimEnd()
        .split('\n'),
    ).toHaveLength(5);
  });
});

describe('Function: toCsv', () => {
  it('quotes cells with commas, quotes and line breaks', () => {
    expect(toCsv(['a', 'b'], [['x, y', 'say "hi"']])).toBe('a,b\n"x, y","say ""hi"""\n');
  });
});

describe('Function: renderIncidents with the anatomy', () => {
  const unreachable = makeEvent(
    { id: 'denemek:0000000001:000', cluster: 'denemek', observedAt: incident.start + 1_000, previousObservedAt: incident.start },
    {
      type: 'member_unreachable',
      member: 'pg_node1',
      url: 'http://10.0.0.4:8008',
      status: 'unreachable',
      error: 'refused',
      wasLeader: true,
    },
  );
  const anatomy = incidentAnatomy({
    trigger: unreachable,
    events: [unreachable],
    verdict: {
      restoredAt: incident.start + 21_000,
      firstGoodWriteAt: incident.start + 20_000,
      outage: {
        startedAfter: incident.start,
        startedBefore: incident.start + 1_000,
        endedAfter: incident.start + 20_800,
        endedBefore: incident.start + 21_000,
        downtimeMinMs: 19_500,
        downtimeMaxMs: 21_000,
      },
    },
    direct: { ok: false, note: 'off' },
    routing: { ok: true, value: { upAt: incident.start + 19_500, server: 'pg_node2' } },
    settings: { ok: true, value: { ttl: 30, loopWait: 10 } },
    haproxy: SAMPLE_HAPROXY_TIMINGS,
  });
  const withAnatomy: Incident = { ...incident, anatomy };

  it('adds the cause and prediction to the incident row, and one line per phase with its evidence', () => {
    const table = renderIncidents([withAnatomy], 'table');
    expect(table).toContain('unreachable');
    expect(table).toMatch(/Phases\n/);
    const phases = renderPhases([withAnatomy], 'csv').trim().split('\n');
    expect(phases[0]).toBe('cluster,incident start,cause,phase,what,from,duration s,evidence');
    expect(phases.slice(1).map((line) => line.split(',')[3])).toEqual(['detection', 'haproxy', 'vip_path', 'flapping']);
    expect(phases[2]).toContain('HAProxy stats: server pg_node2 UP');
  });

  it('adds, after the outage, the time until redundancy was restored, where it was seen', () => {
    const phases = renderPhases([{ ...withAnatomy, redundancyRestoredAt: incident.start + 51_000 }], 'csv')
      .trim()
      .split('\n');
    expect(phases.at(-1)).toMatch(/,redundancy,until the replicas streamed again \(after writes stable\),[^,]+,30\.0,redundancy_restored$/);
  });

  it('says so when the replicas streamed again before writes were stable, instead of a negative phase', () => {
    const phases = renderPhases([{ ...withAnatomy, redundancyRestoredAt: incident.start + 18_000 }], 'csv')
      .trim()
      .split('\n');
    expect(phases.at(-1)).toMatch(
      /,redundancy,the replicas streamed again 3\.0 s before writes were stable,[^,]+,0\.0,redundancy_restored$/,
    );
  });

  it('gives the phases, milestones and prediction in JSON', () => {
    const [json] = JSON.parse(renderIncidents([withAnatomy], 'json'));
    expect(json.cause.kind).toBe('unreachable');
    expect(json.phases.map((p: { seconds: number }) => p.seconds)).toEqual([1, 18.5, 0.5, 1]);
    expect(json.milestones.find((m: { name: string }) => m.name === 'writable_direct')).toEqual({
      name: 'writable_direct',
      at: null,
      evidence: 'not observed: off',
    });
    expect(json.predicted).toMatchObject({ minSeconds: 23, maxSeconds: 41 });
    expect(json.longerThanPredicted).toBe(false);
  });

  it('draws each incident as a bar split by phase, to scale, in the HTML report', () => {
    const html = render(slaReport([withAnatomy], FULL, DEFAULT_SLO), 'html', 'November');
    const widths = [...html.matchAll(/data-phase="(\w+)"/g)].map((m) => m[1]);
    expect(widths).toEqual(['detection', 'haproxy', 'vip_path', 'flapping']);
    const haproxy = /width="([\d.]+)" height="18" fill="[^"]+" data-phase="haproxy"/.exec(html)!;
    // 18.5 s of a 21 s outage on a 700 px bar.
    expect(Number(haproxy[1])).toBeCloseTo((18.5 / 21) * 700, 1);
  });
});
