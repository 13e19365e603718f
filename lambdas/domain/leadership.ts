import type { UnwatchedInterval } from './coverage.js';
import type { ClusterEvent } from './events.js';
import type { Interval } from './sla.js';

/**
 * "Who was primary when" (pure): the leadership intervals of one cluster over a range, from its recorded events.
 * The events must start at a baseline before the range (a `watch_started`, see `eventsBefore`), so that the first
 * interval names the leader the range began with. Unwatched time is its own interval: nobody can say who led.
 */

export type LeaderHolder =
  /** A member held the leader lock. */
  | { readonly kind: 'member'; readonly name: string }
  /** Confirmed leaderless (`no_leader`). */
  | { readonly kind: 'none' }
  /** The poller was not watching, or had not started. */
  | { readonly kind: 'not_watched' };

export interface LeadershipInterval extends Interval {
  readonly holder: LeaderHolder;
  /** The event that started it (absent for unwatched time and for a range starting before the first event). */
  readonly evidence: { readonly id: string; readonly type: ClusterEvent['type'] } | null;
}

interface Change {
  readonly at: number;
  readonly holder: LeaderHolder;
  readonly evidence: LeadershipInterval['evidence'];
}

const member = (name: string): LeaderHolder => ({ kind: 'member', name });

/** The change of leadership an event records, if any. */
function changeOf(event: ClusterEvent): Change | null {
  const evidence = { id: event.id, type: event.type };
  const at = event.observedAt;
  switch (event.type) {
    case 'watch_started':
      return { at, holder: event.leader ? member(event.leader) : { kind: 'none' }, evidence };
    case 'leader_changed':
      return event.reconciled ? null : { at, holder: member(event.to), evidence };
    case 'no_leader':
      return { at: event.since, holder: { kind: 'none' }, evidence };
    case 'leader_restored':
      return { at, holder: member(event.leader), evidence };
    default:
      return null;
  }
}

export function leadershipIntervals(
  events: readonly ClusterEvent[],
  range: Interval,
  unwatched: readonly UnwatchedInterval[] = [],
): LeadershipInterval[] {
  const changes = events
    .map(changeOf)
    .filter((c): c is Change => c !== null)
    .sort((a, b) => a.at - b.at);
  const known: LeadershipInterval[] = [];
  let current: Change = { at: Number.NEGATIVE_INFINITY, holder: { kind: 'not_watched' }, evidence: null };
  for (const change of [...changes, { at: Number.POSITIVE_INFINITY, holder: current.holder, evidence: null }]) {
    known.push({ start: current.at, end: change.at, holder: current.holder, evidence: current.evidence });
    if (!sameHolder(change.holder, current.holder)) current = change;
  }
  const merged = mergeSameHolder(known.filter((i) => i.end > i.start));
  return clip(overlay(merged, unwatched), range);
}

function sameHolder(a: LeaderHolder, b: LeaderHolder): boolean {
  return a.kind === b.kind && (a.kind !== 'member' || a.name === (b as { name: string }).name);
}

function mergeSameHolder(intervals: readonly LeadershipInterval[]): LeadershipInterval[] {
  const result: LeadershipInterval[] = [];
  for (const interval of intervals) {
    const last = result[result.length - 1];
    if (last && sameHolder(last.holder, interval.holder) && last.end >= interval.start)
      result[result.length - 1] = { ...last, end: interval.end };
    else result.push(interval);
  }
  return result;
}

/** Unwatched time replaces whatever the events say about it. */
function overlay(intervals: readonly LeadershipInterval[], unwatched: readonly UnwatchedInterval[]): LeadershipInterval[] {
  const cuts = [...unwatched].sort((a, b) => a.start - b.start);
  const pieces: LeadershipInterval[] = [];
  for (const interval of intervals) {
    let from = interval.start;
    for (const cut of cuts) {
      if (cut.end <= from || cut.start >= interval.end) continue;
      if (cut.start > from) pieces.push({ ...interval, start: from, end: cut.start });
      from = Math.min(interval.end, cut.end);
    }
    if (from < interval.end) pieces.push({ ...interval, start: from });
  }
  const gaps = cuts.map((c): LeadershipInterval => ({ start: c.start, end: c.end, holder: { kind: 'not_watched' }, evidence: null }));
  return mergeSameHolder([...pieces, ...gaps].sort((a, b) => a.start - b.start));
}

function clip(intervals: readonly LeadershipInterval[], range: Interval): LeadershipInterval[] {
  return intervals
    .map((i) => ({ ...i, start: Math.max(i.start, range.start), end: Math.min(i.end, range.end) }))
    .filter((i) => i.end > i.start);
}

/** The holder in words, for tables. Member names are untrusted and are neutralised by the renderer. */
export function holderWords(holder: LeaderHolder): string {
  if (holder.kind === 'member') return holder.name;
  return holder.kind === 'none' ? '(no leader)' : '(not watched)';
}
