import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../../lambdas/domain/events.js';
import {
  clipIntervals,
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

describe('Function: slaReport', () => {
  it('keeps availability within 0-100 % and downtime within the period, whatever the incidents (property)', () => {
    fc.assert(
      fc.property(fc.array(incidentArb, { maxLength: 20 }), (incidents) => {
        const report = slaReport(incidents, NOV, 99.95);
        expect(report.availabilityPercent).toBeGreaterThanOrEqual(0);
        expect(report.availabilityPercent).toBeLessThanOrEqual(100);
        expect(report.downtimeMs).toBeLessThanOrEqual(NOV.end - NOV.start);
        expect(report.availabilityUnplannedPercent).toBeGreaterThanOrEqual(report.availabilityPercent);
        expect(report.availabilityBoundsPercent.best).toBeGreaterThanOrEqual(report.availabilityBoundsPercent.worst);
      }),
      { numRuns: 500 },
    );
  });

  it('matches a hand-computed month: two failovers and a switchover in November (30 days) at 99.95 %', () => {
    // 2 min + 30 s unplanned, 6 s planned = 156 s down of 2,592,000 s.
    const incidents = [
      incident(NOV.start + 3 * 86_400_000, 120_000),
      incident(NOV.start + 10 * 86_400_000, 30_000),
      incident(NOV.start + 20 * 86_400_000, 6_000, { planned: true, kind: 'switchover' }),
    ];
    const report = slaReport(incidents, NOV, 99.95);
    expect(report.downtimeMs).toBe(156_000);
    expect(report.availabilityPercent).toBeCloseTo(100 * (1 - 156 / 2_592_000), 10);
    expect(report.availabilityUnplannedPercent).toBeCloseTo(100 * (1 - 150 / 2_592_000), 10);
    expect(report.errorBudgetMs).toBeCloseTo(0.0005 * 2_592_000_000, 3); // 21.6 minutes
    expect(report.errorBudgetUsedPercent).toBeCloseTo((100 * 156) / 1_296, 6); // 12.04 %
    expect([report.failovers, report.switchovers]).toEqual([2, 1]);
    expect(report.mttrMs).toBe(52_000);
    expect(report.mtbfMs).toBe((2_592_000_000 - 156_000) / 2);
  });

  it('counts overlapping incidents once', () => {
    const report = slaReport([incident(NOV.start + MIN, 10 * MIN), incident(NOV.start + 5 * MIN, 10 * MIN)], NOV, 99.9);
    expect(report.downtimeMs).toBe(14 * MIN);
  });

  it('clips an incident that crosses the start or the end of the period', () => {
    const report = slaReport([incident(NOV.start - 2 * MIN, 5 * MIN), incident(NOV.end - MIN, 5 * MIN)], NOV, 99.9);
    expect(report.downtimeMs).toBe(4 * MIN);
  });

  it('counts an incident still open at the end of the period to its end', () => {
    const report = slaReport([incident(NOV.end - 7 * MIN, null)], NOV, 99.9);
    expect(report.downtimeMs).toBe(7 * MIN);
  });

  it('refuses a period that ends before it starts, and an SLO outside (0, 100]', () => {
    expect(() => slaReport([], { start: 2, end: 1 }, 99.9)).toThrow(RangeError);
    expect(() => slaReport([], NOV, 100.5)).toThrow(/SLO/);
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
