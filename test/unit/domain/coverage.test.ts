import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coverageOf, STALE_HEARTBEAT_MS } from '../../../lambdas/domain/coverage.js';
import { mergeIntervals, monthPeriod, totalMs } from '../../../lambdas/domain/sla.js';

const NOV = monthPeriod('2026-11');
const DAY = 86_400_000;
const AFTER = NOV.end + 60_000;

describe('Function: coverageOf', () => {
  it('is zero for a cluster never watched: the whole period is unwatched, and says so', () => {
    const coverage = coverageOf({ firstWatchedAt: null, lastPolledAt: null, gaps: [] }, NOV, AFTER);
    expect(coverage.fraction).toBe(0);
    expect(coverage.unwatched).toEqual([{ ...NOV, reason: 'never_watched' }]);
  });

  it('counts the days before the first poll as unwatched', () => {
    const first = NOV.start + 10 * DAY;
    const coverage = coverageOf({ firstWatchedAt: first, lastPolledAt: NOV.end, gaps: [] }, NOV, AFTER);
    expect(coverage.fraction).toBeCloseTo(20 / 30, 12);
    expect(coverage.unwatched).toEqual([{ start: NOV.start, end: first, reason: 'before_first_watch' }]);
    expect(coverage.watched).toEqual([{ start: first, end: NOV.end }]);
  });

  it('lists every recorded poller gap with its start and end', () => {
    const gap = { start: NOV.start + 3 * DAY, end: NOV.start + 3 * DAY + 3_600_000 };
    const coverage = coverageOf({ firstWatchedAt: NOV.start - 1, lastPolledAt: NOV.end, gaps: [gap] }, NOV, AFTER);
    expect(coverage.unwatched).toEqual([{ ...gap, reason: 'poller_gap' }]);
    expect(coverage.watchedMs).toBe(NOV.end - NOV.start - 3_600_000);
  });

  it('treats a heartbeat older than the allowance as a poller that stopped, until now', () => {
    const now = NOV.start + 20 * DAY;
    const lastPolledAt = now - STALE_HEARTBEAT_MS - 1;
    const coverage = coverageOf({ firstWatchedAt: NOV.start - 1, lastPolledAt, gaps: [] }, NOV, now);
    expect(coverage.unwatched).toEqual([{ start: lastPolledAt, end: now, reason: 'not_polling' }]);
    const fresh = coverageOf({ firstWatchedAt: NOV.start - 1, lastPolledAt: now - 30_000, gaps: [] }, NOV, now);
    expect(fresh.unwatched).toEqual([]);
  });

  it('cuts a period that ends in the future at now and says so; refuses one that starts in the future', () => {
    const now = NOV.start + 10 * DAY;
    const coverage = coverageOf({ firstWatchedAt: NOV.start - 1, lastPolledAt: now, gaps: [] }, NOV, now);
    expect(coverage.period).toEqual({ start: NOV.start, end: now });
    expect(coverage.cutAt).toBe(now);
    expect(coverage.fraction).toBe(1);
    expect(() => coverageOf({ firstWatchedAt: 0, lastPolledAt: 0, gaps: [] }, NOV, NOV.start - 1)).toThrow(/future/);
  });

  it('splits the period exactly into watched and unwatched time, disjoint and in order (property)', () => {
    const gapArb = fc
      .record({ start: fc.integer({ min: NOV.start - DAY, max: NOV.end + DAY }), length: fc.integer({ min: 0, max: 4 * DAY }) })
      .map(({ start, length }) => ({ start, end: start + length }));
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: NOV.start - DAY, max: NOV.end }), { nil: null }),
        fc.array(gapArb, { maxLength: 5 }),
        fc.integer({ min: NOV.start + 1, max: NOV.end + DAY }),
        (first, gaps, now) => {
          const record = {
            firstWatchedAt: first,
            lastPolledAt: first === null ? null : Math.max(first, now - 10_000),
            gaps: mergeIntervals(gaps),
          };
          const coverage = coverageOf(record, NOV, now);
          const length = coverage.period.end - coverage.period.start;
          expect(coverage.watchedMs + totalMs(coverage.unwatched)).toBe(length);
          expect(coverage.fraction).toBeGreaterThanOrEqual(0);
          expect(coverage.fraction).toBeLessThanOrEqual(1);
          const all = [...coverage.unwatched, ...coverage.watched].sort((a, b) => a.start - b.start);
          for (let i = 1; i < all.length; i++) expect(all[i]!.start).toBeGreaterThanOrEqual(all[i - 1]!.end);
        },
      ),
      { numRuns: 500 },
    );
  });
});
