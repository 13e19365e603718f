import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Coverage, coverageOf } from '../../../lambdas/domain/coverage.js';
import type { ClusterEvent } from '../../../lambdas/domain/events.js';
import {
  clipIntervals,
  DEFAULT_SLO,
  duration,
  fleetReport,
  type Incident,
  type Interval,
  incidentsFromEvents,
  mergeIntervals,
  monthPeriod,
  slaReport,
} from '../../../lambdas/domain/sla.js';
import { leaderChangedEvent } from '../../support/factories.js';

const MIN = 60_000;
const NOV = monthPeriod('2026-11');

function incident(start: number, durationMs: number | null, overrides: Partial<Incident> = {}): Incident {
  return {
    cluster: 'denemek',
    id: `i${start}`,
    kind: 'failover',
    planned: false,
    start,
    end: durationMs === null ? null : start + durationMs,
    downtimeMs: durationMs ?? 0,
    downtimeMinMs: (durationMs ?? 0) * 0.8,
    downtimeMaxMs: (durationMs ?? 0) * 1.2,
    measuredBy: 'write_verified',
    from: 'pg_node1',
    to: 'pg_node2',
    walBytesAtRisk: null,
    anatomy: null,
    ...overrides,
  };
}

const intervalArb = fc
  .record({ start: fc.integer({ min: 0, max: 1_000_000 }), length: fc.integer({ min: 0, max: 200_000 }) })
  .map(({ start, length }) => ({ start, end: start + length }));
const incidentArb = fc
  .record({
    start: fc.integer({ min: NOV.start - 10 * MIN, max: NOV.end + 10 * MIN }),
    ms: fc.option(fc.integer({ min: 0, max: 3 * 60 * MIN }), { nil: null }),
    planned: fc.boolean(),
  })
  .map(({ start, ms, planned }) => incident(start, ms, { planned, kind: planned ? 'switchover' : 'failover' }));

describe('Function: mergeIntervals (properties)', () => {
  it('gives sorted, disjoint intervals no longer in total than the inputs, covering every input point', () => {
    fc.assert(
      fc.property(fc.array(intervalArb, { maxLength: 30 }), (intervals) => {
        const merged = mergeIntervals(intervals);
        for (let i = 1; i < merged.length; i++) expect(merged[i]!.start).toBeGreaterThan(merged[i - 1]!.end);
        const total = (list: Interval[]) => list.reduce((s, x) => s + x.end - x.start, 0);
        expect(total(merged)).toBeLessThanOrEqual(total(intervals));
        for (const x of intervals.filter((i) => i.end > i.start)) {
          expect(merged.some((m) => m.start <= x.start && m.end >= x.end)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('Function: clipIntervals (properties)', () => {
  it('keeps every interval inside the period', () => {
    fc.assert(
      fc.property(
        fc.array(intervalArb),
        intervalArb.filter((p) => p.end > p.start),
        (intervals, period) => {
          for (const i of clipIntervals(intervals, period)) {
            expect(i.start).toBeGreaterThanOrEqual(period.start);
            expect(i.end).toBeLessThanOrEqual(period.end);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** Watched from before the period to after it: coverage 1. */
function watchedThroughout(period: Interval, gaps: Interval[] = []): Coverage {
  return coverageOf({ firstWatchedAt: period.start - MIN, lastPolledAt: period.end, gaps }, period, period.end + 1);
}

const FULL = watchedThroughout(NOV);
const DAY = 86_400_000;

describe('Function: slaReport', () => {
  it('keeps availability between its bounds and within 0-100 %, whatever the incidents and gaps (property)', () => {
    const gapArb = fc
      .record({ start: fc.integer({ min: NOV.start, max: NOV.end }), length: fc.integer({ min: 0, max: 5 * DAY }) })
      .map(({ start, length }) => ({ start, end: start + length }));
    fc.assert(
      fc.property(fc.array(incidentArb, { maxLength: 20 }), fc.array(gapArb, { maxLength: 3 }), (incidents, gaps) => {
        const report = slaReport(incidents, watchedThroughout(NOV, mergeIntervals(gaps)), DEFAULT_SLO);
        const availability = report.availabilityPercent ?? 100;
        expect(availability).toBeGreaterThanOrEqual(0);
        expect(availability).toBeLessThanOrEqual(100);
        expect(report.downtimeMs).toBeLessThanOrEqual(report.coverage.watchedMs);
        expect(report.availabilityBoundsPercent.lower).toBeLessThanOrEqual(availability + 1e-9);
        expect(report.availabilityBoundsPercent.upper).toBeGreaterThanOrEqual(availability - 1e-9);
      }),
      { numRuns: 500 },
    );
  });

  it('matches a hand-computed month: two failovers and a switchover in November (30 days) at 99.95 %', () => {
    // 2 min + 30 s unplanned, 6 s planned = 156 s down of 2,592,000 s.
    const incidents = [
      incident(NOV.start + 3 * DAY, 120_000),
      incident(NOV.start + 10 * DAY, 30_000),
      incident(NOV.start + 20 * DAY, 6_000, { planned: true, kind: 'switchover' }),
    ];
    const report = slaReport(incidents, FULL, DEFAULT_SLO);
    expect(report.coverage.fraction).toBe(1);
    expect(report.downtimeMs).toBe(156_000);
    expect(report.availabilityPercent).toBeCloseTo(100 * (1 - 156 / 2_592_000), 10);
    expect(report.errorBudgetMs).toBeCloseTo(0.0005 * 2_592_000_000, 3); // 21.6 minutes
    expect(report.errorBudgetUsedPercent).toBeCloseTo((100 * 156) / 1_296, 6); // 12.04 %
    expect(report.errorBudgetRemainingMs).toBeCloseTo(1_296_000 - 156_000, 3);
    expect([report.failovers, report.switchovers]).toEqual([2, 1]);
    expect(report.mttrMs).toBe(52_000);
    expect(report.mtbfMs).toBe((2_592_000_000 - 156_000) / 2);
    // Upper bounds 1.2 x: 187.2 s, well inside 1,296 s.
    expect(report.verdict.status).toBe('met');
  });

  it('leaves planned switchovers out when the policy says so, and shows their downtime as excluded', () => {
    const incidents = [
      incident(NOV.start + 3 * DAY, 120_000),
      incident(NOV.start + 20 * DAY, 6_000, { planned: true, kind: 'switchover' }),
    ];
    const report = slaReport(incidents, FULL, { ...DEFAULT_SLO, excludePlanned: true });
    expect(report.downtimeMs).toBe(120_000);
    expect(report.excludedDowntimeMs).toBe(6_000);
    expect(report.incidents.map((i) => i.excludedBy)).toEqual([null, 'planned']);
    expect(report.switchovers).toBe(1);
  });

  it('does not count downtime inside a maintenance window, and shows it as excluded', () => {
    const window = { start: NOV.start + 5 * DAY, end: NOV.start + 5 * DAY + 2 * MIN, reason: 'kernel upgrade' };
    // Starts one minute before the window ends and lasts three: one minute inside, two after.
    const report = slaReport([incident(window.end - MIN, 3 * MIN)], FULL, { ...DEFAULT_SLO, maintenance: [window] });
    expect(report.downtimeMs).toBe(2 * MIN);
    expect(report.excludedDowntimeMs).toBe(MIN);
    expect(report.incidents[0]!.excludedBy).toBe('maintenance');
  });

  it('computes over watched time for a cluster first watched mid-month: coverage 0.5, bounds far apart, and says why it is at risk', () => {
    const coverage = coverageOf({ firstWatchedAt: NOV.start + 15 * DAY, lastPolledAt: NOV.end, gaps: [] }, NOV, NOV.end + 1);
    const report = slaReport([incident(NOV.start + 20 * DAY, 60_000)], coverage, DEFAULT_SLO);
    expect(report.coverage.fraction).toBeCloseTo(0.5, 10);
    expect(report.availabilityPercent).toBeCloseTo(100 * (1 - 60 / 1_296_000), 10);
    expect(report.availabilityBoundsPercent.lower).toBeCloseTo(100 * (1 - (72 + 1_296_000) / 2_592_000), 8); // about 50 %
    expect(report.availabilityBoundsPercent.upper).toBeCloseTo(100 * (1 - 48 / 2_592_000), 8);
    expect(report.verdict.status).toBe('at_risk');
    expect(report.verdict.reason).toContain('unwatched (coverage 50.0 %)');
  });

  it('takes an hour-long poller gap out of the watched time, and never counts an incident inside it', () => {
    const gap = { start: NOV.start + 9 * DAY, end: NOV.start + 9 * DAY + 60 * MIN };
    const report = slaReport([incident(gap.start + 10 * MIN, 5 * MIN)], watchedThroughout(NOV, [gap]), DEFAULT_SLO);
    expect(report.coverage.watchedMs).toBe(NOV.end - NOV.start - 60 * MIN);
    expect(report.downtimeMs).toBe(0);
    expect(report.availabilityPercent).toBe(100);
    // An hour unwatched is more than the 21.6 min budget: not "met", whatever was seen.
    expect(report.verdict.status).toBe('at_risk');
  });

  it('is breached when the measured downtime alone overspends the budget, and has no data when nothing was watched', () => {
    expect(slaReport([incident(NOV.start + DAY, 30 * MIN)], FULL, DEFAULT_SLO).verdict).toMatchObject({ status: 'breached' });
    const never = coverageOf({ firstWatchedAt: null, lastPolledAt: null, gaps: [] }, NOV, NOV.end + 1);
    const report = slaReport([], never, DEFAULT_SLO);
    expect(report.availabilityPercent).toBeNull();
    expect(report.availabilityBoundsPercent).toEqual({ lower: 0, upper: 100 });
    expect(report.verdict.status).toBe('no_data');
  });

  it('counts overlapping incidents once', () => {
    const report = slaReport([incident(NOV.start + MIN, 10 * MIN), incident(NOV.start + 5 * MIN, 10 * MIN)], FULL, DEFAULT_SLO);
    expect(report.downtimeMs).toBe(14 * MIN);
  });

  it('clips an incident that crosses the start or the end of the period', () => {
    const report = slaReport([incident(NOV.start - 2 * MIN, 5 * MIN), incident(NOV.end - MIN, 5 * MIN)], FULL, DEFAULT_SLO);
    expect(report.downtimeMs).toBe(4 * MIN);
  });

  it('counts an incident still open at the end of the period to its end', () => {
    const report = slaReport([incident(NOV.end - 7 * MIN, null)], FULL, DEFAULT_SLO);
    expect(report.downtimeMs).toBe(7 * MIN);
  });

  it('refuses an SLO outside (0, 100]', () => {
    expect(() => slaReport([], FULL, { ...DEFAULT_SLO, targetPercent: 100.5 })).toThrow(/SLO/);
  });
});

describe('Function: fleetReport', () => {
  it('weighs each cluster by its watched time, bounds over all cluster-time, and names the worst cluster', () => {
    const half = coverageOf({ firstWatchedAt: NOV.start + 15 * DAY, lastPolledAt: NOV.end, gaps: [] }, NOV, NOV.end + 1);
    const clusters = [
      { cluster: 'a', report: slaReport([incident(NOV.start + DAY, 60_000)], FULL, DEFAULT_SLO) },
      { cluster: 'b', report: slaReport([incident(NOV.start + 20 * DAY, 120_000)], half, DEFAULT_SLO) },
      { cluster: 'c', report: slaReport([], FULL, DEFAULT_SLO) },
    ];
    const fleet = fleetReport(clusters, NOV);
    const month = NOV.end - NOV.start;
    expect(fleet.watchedMs).toBe(2.5 * month);
    expect(fleet.coverage).toBeCloseTo(2.5 / 3, 10);
    expect(fleet.availabilityPercent).toBeCloseTo(100 * (1 - 180_000 / (2.5 * month)), 10);
    expect(fleet.worst?.cluster).toBe('b');
    expect(fleet.verdicts).toEqual({ met: 2, at_risk: 1, breached: 0, no_data: 0 });
    expect(fleet.definition).toContain('watched cluster-time');
  });
});

describe('Function: monthPeriod', () => {
  it('is the calendar month in UTC', () => {
    expect(monthPeriod('2026-12')).toEqual({ start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) });
    expect(() => monthPeriod('2026-13')).toThrow(/2026-11/);
  });
});

describe('Function: incidentsFromEvents', () => {
  const base = { cluster: 'denemek', happenedAt: null, reconciled: false };
  const change = leaderChangedEvent(
    { ...base, id: 'c:2:1', observedAt: 10_000, previousObservedAt: 9_000 },
    { oldLeaderWalPosition: 100, switchLsn: 90, walBytesAtRisk: 10 },
  );
  const verified = {
    ...base,
    id: 'c:2:0/probe',
    type: 'write_verified',
    observedAt: 14_000,
    previousObservedAt: 8_000,
    trigger: { id: 'c:2:0', type: 'member_unreachable' },
    incident: 'c:2:0',
    restoredAt: new Date(13_000).toISOString(),
    stableSince: new Date(13_000).toISOString(),
    attempts: 10,
    errors: { refused: 9 },
    servedBy: { address: '127.0.0.1', port: 5433, timeline: 2 },
    outage: {
      startedAfter: 7_000,
      startedBefore: 8_000,
      endedAfter: 12_750,
      endedBefore: 13_000,
      downtimeMinMs: 4_500,
      downtimeMaxMs: 6_000,
    },
  } as ClusterEvent;

  it('makes one measured incident of a verdict, with the leader change it covers', () => {
    expect(incidentsFromEvents([change, verified])).toEqual([
      expect.objectContaining({
        id: 'c:2:0',
        kind: 'failover',
        measuredBy: 'write_verified',
        from: 'pg_node1',
        to: 'pg_node2',
        walBytesAtRisk: 10,
        downtimeMinMs: 4_500,
        downtimeMaxMs: 6_000,
        start: 7_500,
        end: 12_875,
      }),
    ]);
  });

  it("merges one cluster's overlapping incidents into one, so the listing never shows an outage twice", () => {
    const second = {
      ...verified,
      id: 'c:3:0/probe',
      incident: 'c:3:0',
      outage: { ...(verified as { outage: object }).outage, startedAfter: 9_000, startedBefore: 10_000 },
    } as ClusterEvent;
    const incidents = incidentsFromEvents([change, verified, second]);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ id: 'c:2:0', kind: 'failover', start: 7_500 });
  });

  it('makes an unmeasured incident of a leader change no probe covered, at its upper bound', () => {
    expect(incidentsFromEvents([change])).toEqual([
      expect.objectContaining({ measuredBy: 'unmeasured', downtimeMinMs: 0, downtimeMaxMs: 1_000, start: 9_000, end: 10_000 }),
    ]);
  });
});

describe('Function: incidentsFromEvents, redundancy', () => {
  it('attaches the first redundancy_restored after an incident, and none to one that never saw it', () => {
    const change = leaderChangedEvent({
      id: 'denemek:0000000005:000',
      cluster: 'denemek',
      observedAt: 100_000,
      previousObservedAt: 99_000,
    });
    const restored = {
      ...change,
      id: 'denemek:0000000009:000',
      type: 'redundancy_restored',
      observedAt: 160_000,
      leader: 'pg_node2',
      timeline: 2,
      replicas: ['pg_node1', 'pg_node3'],
      afterMs: 60_000,
    } as ClusterEvent;
    expect(incidentsFromEvents([change, restored])[0]!.redundancyRestoredAt).toBe(160_000);
    expect(incidentsFromEvents([change])[0]!.redundancyRestoredAt).toBeNull();
  });
});

describe('Function: duration', () => {
  it.each([
    [16, '16 ms'],
    [7_400, '7.4 s'],
    [1_296_000, '21.6 min'],
    [3 * 3_600_000, '3.0 h'],
    [15 * 86_400_000, '15.0 d'],
  ])('says %i ms as %s', (ms, words) => {
    expect(duration(ms)).toBe(words);
  });
});
