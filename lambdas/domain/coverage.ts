import type { WatchRecord } from './ports.js';
import { clipIntervals, type Interval, mergeIntervals, totalMs } from './sla.js';

/**
 * Coverage: how much of a period the product itself watched a cluster (pure). Only what the poller recorded
 * counts: its first poll, the gaps it recorded between polls, and its last heartbeat. Everything else is
 * unwatched, and no report may count unwatched time as available.
 */

/** The poller writes a cluster's state at least this often, even when nothing changed. */
export const HEARTBEAT_MS = 60_000;

/**
 * A heartbeat older than this says the poller has stopped: one heartbeat interval, plus the allowance between
 * two polls (`unwatchedAfterMs` of the watcher, 30 s at the default poll interval).
 */
export const STALE_HEARTBEAT_MS = HEARTBEAT_MS + 30_000;

export type UnwatchedReason = 'never_watched' | 'before_first_watch' | 'poller_gap' | 'not_polling';

export interface UnwatchedInterval extends Interval {
  readonly reason: UnwatchedReason;
}

export interface Coverage {
  /** The period covered: the one asked for, cut at `now` when it ends later. */
  readonly period: Interval;
  /** Set when the period asked for ended after `now` and was cut there. */
  readonly cutAt: number | null;
  readonly watchedMs: number;
  /** Watched share of the period, 0..1. */
  readonly fraction: number;
  /** Disjoint, oldest first, each with why it was not watched. */
  readonly unwatched: readonly UnwatchedInterval[];
  /** The watched intervals: the period without the unwatched ones. */
  readonly watched: readonly Interval[];
}

/** What `now` and the recorded watching say about a period. Throws RangeError for a period that starts after `now`. */
export function coverageOf(record: WatchRecord, requested: Interval, now: number, staleAfterMs = STALE_HEARTBEAT_MS): Coverage {
  if (requested.start >= now) throw new RangeError(`the period starts in the future (${iso(requested.start)}, now ${iso(now)})`);
  const cutAt = requested.end > now ? now : null;
  const period = { start: requested.start, end: Math.min(requested.end, now) };
  const unwatched = clipped(unwatchedIntervals(record, period, now, staleAfterMs), period);
  const watched = complement(unwatched, period);
  const watchedMs = totalMs(watched);
  return { period, cutAt, watchedMs, fraction: watchedMs / (period.end - period.start), unwatched, watched };
}

function unwatchedIntervals(record: WatchRecord, period: Interval, now: number, staleAfterMs: number): UnwatchedInterval[] {
  if (record.firstWatchedAt === null) return [{ ...period, reason: 'never_watched' }];
  const intervals: UnwatchedInterval[] = [
    { start: period.start, end: record.firstWatchedAt, reason: 'before_first_watch' },
    ...record.gaps.map((gap) => ({ ...gap, reason: 'poller_gap' as const })),
  ];
  const lastPoll = record.lastPolledAt ?? record.firstWatchedAt;
  if (now - lastPoll > staleAfterMs) intervals.push({ start: lastPoll, end: now, reason: 'not_polling' });
  return intervals;
}

/** Clipped to the period and made disjoint; where two overlap, the earlier reason is kept. */
function clipped(intervals: readonly UnwatchedInterval[], period: Interval): UnwatchedInterval[] {
  const result: UnwatchedInterval[] = [];
  for (const interval of [...intervals].sort((a, b) => a.start - b.start)) {
    const [inside] = clipIntervals([interval], period);
    if (!inside) continue;
    const last = result[result.length - 1];
    if (last && inside.start <= last.end) result[result.length - 1] = { ...last, end: Math.max(last.end, inside.end) };
    else result.push({ ...inside, reason: interval.reason });
  }
  return result;
}

/** The parts of the period outside the (disjoint, sorted) intervals. */
export function complement(intervals: readonly Interval[], period: Interval): Interval[] {
  const gaps: Interval[] = [];
  let from = period.start;
  for (const interval of mergeIntervals(intervals)) {
    if (interval.start > from) gaps.push({ start: from, end: Math.min(interval.start, period.end) });
    from = Math.max(from, interval.end);
  }
  if (from < period.end) gaps.push({ start: from, end: period.end });
  return gaps.filter((g) => g.end > g.start);
}

/** The parts of `a` inside any of `b` (both disjoint and sorted, or made so). */
export function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const left = mergeIntervals(a);
  const right = mergeIntervals(b);
  const result: Interval[] = [];
  let j = 0;
  for (const x of left) {
    while (j < right.length && right[j]!.end <= x.start) j++;
    for (let k = j; k < right.length && right[k]!.start < x.end; k++) {
      const start = Math.max(x.start, right[k]!.start);
      const end = Math.min(x.end, right[k]!.end);
      if (end > start) result.push({ start, end });
    }
  }
  return result;
}

const iso = (ms: number) => new Date(ms).toISOString();
