import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../../lambdas/domain/events.js';
import { holderWords, leadershipIntervals } from '../../../lambdas/domain/leadership.js';
import { leaderChangedEvent, makeTestEvent } from '../../support/factories.js';

const T0 = Date.UTC(2026, 10, 1);
const H = 3_600_000;

const started = makeTestEvent({ type: 'watch_started', leader: 'pg_node1', timeline: 1, members: ['pg_node1', 'pg_node2'] }, T0 - 48 * H);
const envelope = (observedAt: number, id: string) => ({ id, cluster: 'denemek', observedAt, previousObservedAt: observedAt - 1_000 });
const toNode2 = leaderChangedEvent(envelope(T0 + 2 * H, 'denemek:0000000100:000'));
const noLeader = makeTestEvent({ type: 'no_leader', lastLeader: 'pg_node2', since: T0 + 5 * H }, T0 + 5 * H + 5_000);
const restored = makeTestEvent({ type: 'leader_restored', leader: 'pg_node3', leaderlessSince: T0 + 5 * H }, T0 + 6 * H);

const words = (events: ClusterEvent[], range = { start: T0, end: T0 + 10 * H }, unwatched = []) =>
  leadershipIntervals(events, range, unwatched).map((i) => [holderWords(i.holder), (i.start - T0) / H, (i.end - T0) / H]);

describe('Function: leadershipIntervals', () => {
  it('starts the range with the leader recorded before it, then follows every change', () => {
    expect(words([started, toNode2, noLeader, restored])).toEqual([
      ['pg_node1', 0, 2],
      ['pg_node2', 2, 5],
      ['(no leader)', 5, 6],
      ['pg_node3', 6, 10],
    ]);
  });

  it('names the event behind each interval', () => {
    const [first, second] = leadershipIntervals([started, toNode2], { start: T0, end: T0 + 10 * H });
    expect(first!.evidence).toEqual({ id: started.id, type: 'watch_started' });
    expect(second!.evidence).toEqual({ id: toNode2.id, type: 'leader_changed' });
  });

  it('says nobody knows who led while nothing was watched, and before the first event', () => {
    const gap = { start: T0 + 3 * H, end: T0 + 4 * H, reason: 'poller_gap' as const };
    expect(words([started, toNode2], undefined, [gap] as never)).toEqual([
      ['pg_node1', 0, 2],
      ['pg_node2', 2, 3],
      ['(not watched)', 3, 4],
      ['pg_node2', 4, 10],
    ]);
    expect(words([toNode2])[0]).toEqual(['(not watched)', 0, 2]);
  });

  it('ignores leader changes recovered from /history (the live sightings carry the order)', () => {
    const reconciled = leaderChangedEvent({ ...envelope(T0 + H, 'denemek:0000000101:000'), reconciled: true }, { to: 'pg_node3' });
    expect(words([started, reconciled])).toEqual([['pg_node1', 0, 10]]);
  });
});
