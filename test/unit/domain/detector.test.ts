import { describe, expect, it } from 'vitest';
import type { ClusterState } from '../../../lambdas/domain/clusterState.js';
import { detect } from '../../../lambdas/domain/detector.js';
import type { ClusterEvent } from '../../../lambdas/domain/events.js';
import type { Observation } from '../../../lambdas/domain/model.js';
import { outageBounds } from '../../../lambdas/domain/outage.js';
import {
  failed,
  healthy,
  historyRow,
  NAMES,
  observation,
  ok,
  primary,
  replica,
  SYSTEM_ID,
  view,
  viewMember,
} from '../../support/factories.js';

/** Applies observations one after another, as the poller does, and returns every event and the final state. */
function run(...observations: Observation[]): { events: ClusterEvent[]; state: ClusterState } {
  let state: ClusterState | null = null;
  const events: ClusterEvent[] = [];
  for (const obs of observations) {
    const result = detect(state, obs);
    state = result.state;
    events.push(...result.events);
  }
  return { events, state: state! };
}

/** Events after the baseline, by type, for compact assertions. */
/** pg_node1 still holds the lock on timeline 3, but its PostgreSQL died (Patroni says primary/unknown). */
function leaderPostgresCrashed(observedAt: number): Observation {
  return observation(
    observedAt,
    [primary('pg_node1', 3, { state: 'unknown', timeline: null }), replica('pg_node2', 3), replica('pg_node3', 3)],
    view('pg_node1', 3),
  );
}

/** pg_node1, still leader, shuts PostgreSQL down gracefully (primary/stopping): the first half of a switchover. */
function leaderStopping(observedAt: number): Observation {
  return observation(
    observedAt,
    [primary('pg_node1', 3, { state: 'stopping', timeline: null }), replica('pg_node2', 3), replica('pg_node3', 3)],
    view('pg_node1', 3),
  );
}

/** pg_node1 answers demoted/stopped, pg_node2 leads on timeline 4: what a switchover (or a crash hand-over) looks like. */
function handedOverToNode2(observedAt: number): Observation {
  return observation(
    observedAt,
    [ok('pg_node1', { role: 'demoted', state: 'stopped', timeline: null }), primary('pg_node2', 4), replica('pg_node3', 3)],
    view('pg_node2', 4),
  );
}

function typesAfterStart(events: readonly ClusterEvent[]): string[] {
  return events.filter((e) => e.type !== 'watch_started').map((e) => e.type);
}

function only<T extends ClusterEvent['type']>(events: readonly ClusterEvent[], type: T): Extract<ClusterEvent, { type: T }> {
  const matching = events.filter((e) => e.type === type);
  expect(matching, `exactly one ${type}`).toHaveLength(1);
  return matching[0] as Extract<ClusterEvent, { type: T }>;
}

describe('Function: detect', () => {
  describe('row 1: first poll', () => {
    it('records the baseline as watch_started with the leader, the timeline and the members', () => {
      const { events, state } = run(healthy(1_000, 'pg_node1', 3));
      expect(events.map((e) => e.type)).toEqual(['watch_started']);
      expect(events[0]).toMatchObject({ leader: 'pg_node1', timeline: 3, members: NAMES, previousObservedAt: null });
      expect(state).toMatchObject({ leader: 'pg_node1', timeline: 3, version: 1, systemIdentifier: SYSTEM_ID, scope: 'denemek' });
    });

    it('adds cluster_unreachable when no member answers the first poll', () => {
      const { events, state } = run(
        observation(
          1_000,
          NAMES.map((n) => failed(n)),
          null,
        ),
      );
      expect(events.map((e) => e.type)).toEqual(['watch_started', 'cluster_unreachable']);
      expect(state.reachable).toBe(false);
    });
  });

  describe('steady state', () => {
    it('emits nothing and asks for no write when nothing changed', () => {
      const first = detect(null, healthy(1_000, 'pg_node1', 3));
      const second = detect(first.state, healthy(2_000, 'pg_node1', 3));
      expect(second.events).toEqual([]);
      expect(second.stateChanged).toBe(false);
      expect(second.state.version).toBe(first.state.version);
      expect(second.state.lastHealthyAt).toBe(2_000);
    });

    it('is deterministic: the same state and observation give the same events and ids', () => {
      const base = detect(null, healthy(1_000, 'pg_node1', 3)).state;
      const change = observation(2_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4));
      expect(detect(base, change)).toEqual(detect(base, change));
      expect(detect(base, change).events.map((e) => e.id)).toEqual([
        'denemek:0000000002:000',
        'denemek:0000000002:001',
        'denemek:0000000002:002',
        'denemek:0000000002:003',
        'denemek:0000000002:004',
      ]);
    });
  });

  describe('rows 2-4: members', () => {
    it('row 2: member_unreachable with the failure kind and message', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(
          2_000,
          [primary('pg_node1', 3), failed('pg_node2', 'timeout', 'no answer in 3000 ms'), replica('pg_node3', 3)],
          view('pg_node1', 3),
        ),
      );
      expect(only(events, 'member_unreachable')).toMatchObject({ member: 'pg_node2', status: 'timeout', error: 'no answer in 3000 ms' });
      expect(typesAfterStart(events)).toEqual(['member_unreachable']);
    });

    it('row 2: a second failure of another kind is not a new event', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [primary('pg_node1', 3), failed('pg_node2', 'timeout'), replica('pg_node3', 3)], view('pg_node1', 3)),
        observation(3_000, [primary('pg_node1', 3), failed('pg_node2', 'unreachable'), replica('pg_node3', 3)], view('pg_node1', 3)),
      );
      expect(typesAfterStart(events)).toEqual(['member_unreachable']);
    });

    it('row 2: a down member that reads as refused on one poll and timed out on the next asks for no write', () => {
      const down = (at: number, kind: 'timeout' | 'unreachable') =>
        observation(at, [primary('pg_node1', 3), failed('pg_node2', kind), replica('pg_node3', 3)], view('pg_node1', 3));
      const first = detect(detect(null, healthy(1_000, 'pg_node1', 3)).state, down(2_000, 'timeout'));
      expect(first.stateChanged).toBe(true);
      const flipped = detect(first.state, down(3_000, 'unreachable'));
      expect(flipped.events).toEqual([]);
      expect(flipped.stateChanged).toBe(false);
      const back = detect(flipped.state, healthy(4_000, 'pg_node1', 3));
      expect(back.stateChanged).toBe(true);
    });

    it('row 3: member_reachable, then what changed while it was away', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [primary('pg_node1', 3), failed('pg_node2'), replica('pg_node3', 3)], view('pg_node1', 3)),
        observation(
          3_000,
          [primary('pg_node1', 3), replica('pg_node2', 3, { state: 'starting' }), replica('pg_node3', 3)],
          view('pg_node1', 3),
        ),
      );
      expect(typesAfterStart(events)).toEqual(['member_unreachable', 'member_reachable', 'member_state_changed']);
      expect(only(events, 'member_state_changed')).toMatchObject({ member: 'pg_node2', from: 'running', to: 'starting' });
    });

    it('row 4: member_role_changed and member_state_changed in the vocabulary of every version', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(
          2_000,
          [primary('pg_node1', 3, { state: 'stopping', rawRole: 'master' }), replica('pg_node2', 3), replica('pg_node3', 3)],
          view('pg_node1', 3),
        ),
        observation(
          3_000,
          [ok('pg_node1', { role: 'demoted', state: 'stopped', timeline: null }), replica('pg_node2', 3), replica('pg_node3', 3)],
          view('pg_node1', 3),
        ),
      );
      expect(events.filter((e) => e.type === 'member_state_changed').map((e) => [e.from, e.to])).toEqual([
        ['running', 'stopping'],
        ['stopping', 'stopped'],
      ]);
      expect(only(events, 'member_role_changed')).toMatchObject({ member: 'pg_node1', from: 'primary', to: 'demoted' });
    });

    it('names Patroni 3.0 members, which do not say their name, from what was learnt before', () => {
      const anonymous = (obs: Observation): Observation => ({ ...obs, members: obs.members.map((m) => ({ ...m, name: null })) });
      const first = detect(null, healthy(1_000, 'pg_node1', 3));
      // `/cluster` is down too: the name can only come from memory.
      const second = detect(
        first.state,
        anonymous(observation(2_000, [primary('pg_node1', 3), failed('pg_node2'), replica('pg_node3', 3)], null)),
      );
      expect(only(second.events, 'member_unreachable').member).toBe('pg_node2');
    });
  });

  describe('row 5: DCS membership', () => {
    it('member_removed when a member key vanishes, member_added when it returns', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(
          2_000,
          [primary('pg_node1', 3), failed('pg_node2'), replica('pg_node3', 3)],
          view('pg_node1', 3, ['pg_node1', 'pg_node3']),
        ),
        healthy(3_000, 'pg_node1', 3),
      );
      expect(typesAfterStart(events)).toEqual(['member_unreachable', 'member_removed', 'member_reachable', 'member_added']);
    });

    it('does not report membership when /cluster did not answer', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [primary('pg_node1', 3), replica('pg_node2', 3), replica('pg_node3', 3)], null),
      );
      expect(typesAfterStart(events)).toEqual([]);
    });
  });

  describe('rows 6-7: cluster reachability', () => {
    it('row 6: cluster_unreachable keeps the leader and timeline as they were', () => {
      const { events, state } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(
          2_000,
          NAMES.map((n) => failed(n)),
          null,
        ),
      );
      expect(typesAfterStart(events)).toEqual(['member_unreachable', 'member_unreachable', 'member_unreachable', 'cluster_unreachable']);
      expect(state).toMatchObject({ leader: 'pg_node1', timeline: 3, reachable: false });
    });

    it('row 7: cluster_reachable when a member answers again', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(
          2_000,
          NAMES.map((n) => failed(n)),
          null,
        ),
        healthy(3_000, 'pg_node1', 3),
      );
      expect(typesAfterStart(events).filter((t) => t.startsWith('cluster'))).toEqual(['cluster_unreachable', 'cluster_reachable']);
    });
  });

  describe('row 8: maintenance mode', () => {
    it('cluster_paused and cluster_resumed', () => {
      const { events } = run(healthy(1_000, 'pg_node1', 3), healthy(2_000, 'pg_node1', 3, true), healthy(3_000, 'pg_node1', 3));
      expect(typesAfterStart(events)).toEqual(['cluster_paused', 'cluster_resumed']);
    });
  });

  describe('row 9: leader changes and their kind', () => {
    it('failover when the old leader does not answer (reboot, kill, host loss)', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(
          2_000,
          [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)],
          view('pg_node2', 4, ['pg_node2', 'pg_node3']),
        ),
      );
      expect(only(events, 'leader_changed')).toMatchObject({
        from: 'pg_node1',
        to: 'pg_node2',
        oldTimeline: 3,
        newTimeline: 4,
        kind: 'failover',
        evidence: { cause: 'old_leader_unreachable' },
        previousObservedAt: 1_000,
        observedAt: 2_000,
        reconciled: false,
      });
      expect(only(events, 'timeline_changed')).toMatchObject({ from: 3, to: 4, leader: 'pg_node2', missedPromotions: 0 });
    });

    it('dates the change after the previous round started, not after it ended: a slow reply may be seconds old', () => {
      const first = detect(null, { ...healthy(10_000, 'pg_node1', 3), startedAt: 7_000 });
      const { events } = detect(first.state, {
        ...observation(14_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4)),
        startedAt: 13_000,
      });
      expect(only(events, 'leader_changed')).toMatchObject({ previousObservedAt: 7_000, observedAt: 14_000 });
    });

    it('carries the start of the last poll that saw a running leader: earlier than the previous poll when that one already saw trouble', () => {
      const first = detect(null, { ...healthy(1_000, 'pg_node1', 3), startedAt: 900 });
      const stopping = detect(first.state, {
        ...observation(
          2_000,
          [primary('pg_node1', 3, { state: 'stopping' }), replica('pg_node2', 3), replica('pg_node3', 3)],
          view('pg_node1', 3),
        ),
        startedAt: 1_900,
      });
      const { events } = detect(stopping.state, {
        ...observation(
          3_000,
          [ok('pg_node1', { role: 'demoted', state: 'stopped', timeline: null }), primary('pg_node2', 4), replica('pg_node3', 3)],
          view('pg_node2', 4),
        ),
        startedAt: 2_900,
      });
      expect(only(events, 'leader_changed')).toMatchObject({ previousObservedAt: 1_900, lastHealthyAt: 900 });
      expect(outageBounds(only(events, 'leader_changed'), []).startedAfter).toBe(900);
    });

    it('switchover when the old leader was demoted gracefully (stopping) while its Patroni kept answering', () => {
      const { events } = run(healthy(1_000, 'pg_node1', 3), leaderStopping(2_000), handedOverToNode2(3_000));
      expect(only(events, 'leader_changed')).toMatchObject({ kind: 'switchover', evidence: { cause: 'old_leader_demoted' } });
    });

    it('failover when a running primary is demoted and stopped a poll later without the stopping of a graceful demotion', () => {
      // A crash that Patroni failed over within one loop (primary_start_timeout 0), between two polls 1 s apart.
      const { events } = run(healthy(1_000, 'pg_node1', 3), handedOverToNode2(2_000));
      expect(only(events, 'leader_changed')).toMatchObject({
        kind: 'failover',
        evidence: { cause: 'old_leader_postgres_down', detail: expect.stringContaining('without the graceful stop') },
      });
    });

    it("measures the gap between the rounds' starts: a reply slowed by the crash still sampled the member 1 s later", () => {
      const { events } = run({ ...healthy(1_000, 'pg_node1', 3), startedAt: 900 }, { ...handedOverToNode2(4_500), startedAt: 1_900 });
      expect(only(events, 'leader_changed')).toMatchObject({ kind: 'failover', evidence: { cause: 'old_leader_postgres_down' } });
    });

    it('switchover for the same replies 5 s apart: a graceful stop could have been missed between them', () => {
      const { events } = run(healthy(1_000, 'pg_node1', 3), handedOverToNode2(6_000));
      expect(only(events, 'leader_changed')).toMatchObject({ kind: 'switchover', evidence: { cause: 'old_leader_demoted' } });
    });

    it('failover when the old leader reports a crashed PostgreSQL', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(
          2_000,
          [primary('pg_node1', 3, { state: 'crashed', timeline: null }), primary('pg_node2', 4), replica('pg_node3', 3)],
          view('pg_node2', 4),
        ),
      );
      expect(only(events, 'leader_changed')).toMatchObject({ kind: 'failover', evidence: { cause: 'old_leader_postgres_down' } });
    });

    it('failover when the old leader crashed one poll earlier and came back as a replica', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        leaderPostgresCrashed(2_000),
        observation(
          3_000,
          [replica('pg_node1', 3, { state: 'starting' }), primary('pg_node2', 4), replica('pg_node3', 3)],
          view('pg_node2', 4),
        ),
      );
      expect(only(events, 'leader_changed')).toMatchObject({ kind: 'failover', evidence: { cause: 'old_leader_postgres_down' } });
    });

    it('failover when the old leader crashed two polls earlier and was demoted before it lost the lock (seen on Patroni 4)', () => {
      // Lab sequence after kill -9 of the leader's postmaster: primary/unknown, then demoted/stopped, then a new leader.
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        leaderPostgresCrashed(2_000),
        observation(
          3_000,
          [ok('pg_node1', { role: 'demoted', state: 'stopped', timeline: null }), replica('pg_node2', 3), replica('pg_node3', 3)],
          view('pg_node1', 3),
        ),
        handedOverToNode2(4_000),
      );
      expect(only(events, 'leader_changed')).toMatchObject({ kind: 'failover', evidence: { cause: 'old_leader_postgres_down' } });
    });

    it('a crash is forgotten once the member runs again: its next hand-over is a switchover', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        leaderPostgresCrashed(2_000),
        healthy(3_000, 'pg_node1', 3),
        leaderStopping(4_000),
        handedOverToNode2(5_000),
      );
      expect(only(events, 'leader_changed')).toMatchObject({ kind: 'switchover', evidence: { cause: 'old_leader_demoted' } });
    });

    it('failover with a split-brain warning when the old leader still runs as a primary', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [primary('pg_node1', 3), primary('pg_node2', 4), replica('pg_node3', 3)], view('pg_node2', 4)),
      );
      expect(only(events, 'leader_changed')).toMatchObject({ kind: 'failover', evidence: { cause: 'old_leader_still_primary' } });
      expect(only(events, 'split_brain').members).toEqual(['pg_node1', 'pg_node2']);
    });

    it('records the lock moving before the promotion finishes, then the timeline', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [failed('pg_node1'), replica('pg_node2', 3), replica('pg_node3', 3)], view('pg_node2', 3)),
        observation(3_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 3)], view('pg_node2', 3), [
          historyRow(3, 'pg_node2', '2026-11-26T03:00:02.5+00:00'),
        ]),
      );
      expect(only(events, 'leader_changed')).toMatchObject({
        from: 'pg_node1',
        to: 'pg_node2',
        oldTimeline: 3,
        newTimeline: null,
        observedAt: 2_000,
      });
      expect(only(events, 'timeline_changed')).toMatchObject({
        from: 3,
        to: 4,
        happenedAt: '2026-11-26T03:00:02.5+00:00',
        observedAt: 3_000,
      });
    });

    it("carries Patroni's promotion timestamp when /history already has it", () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4), [
          historyRow(3, 'pg_node2', '2026-11-26T03:00:01.9+00:00'),
        ]),
      );
      expect(only(events, 'leader_changed').happenedAt).toBe('2026-11-26T03:00:01.9+00:00');
    });

    it('reports the WAL the old leader wrote past the switch point as data at risk', () => {
      const { events } = run(
        observation(
          1_000,
          [primary('pg_node1', 3, { walPosition: 67_200_000 }), replica('pg_node2', 3), replica('pg_node3', 3)],
          view('pg_node1', 3),
        ),
        observation(2_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4), [
          { ...historyRow(3, 'pg_node2'), switchLsn: 67_150_000 },
        ]),
      );
      expect(only(events, 'leader_changed')).toMatchObject({
        oldLeaderWalPosition: 67_200_000,
        switchLsn: 67_150_000,
        walBytesAtRisk: 50_000,
      });
    });

    it('marks member events of the member that held the lock', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [failed('pg_node1'), failed('pg_node2'), replica('pg_node3', 3)], view('pg_node1', 3)),
      );
      expect(events.filter((e) => e.type === 'member_unreachable').map((e) => [e.member, e.wasLeader])).toEqual([
        ['pg_node1', true],
        ['pg_node2', false],
      ]);
    });
  });

  describe('rows 10-13: no leader', () => {
    const leaderless = (at: number) =>
      observation(
        at,
        [failed('pg_node1'), replica('pg_node2', 3, { clusterUnlocked: true }), replica('pg_node3', 3, { clusterUnlocked: true })],
        view(null, 3, ['pg_node2', 'pg_node3']),
      );

    it('row 10: a single leaderless poll is a handover in progress, not yet an alert', () => {
      const { events, state } = run(healthy(1_000, 'pg_node1', 3), leaderless(2_000));
      expect(events.some((e) => e.type === 'no_leader')).toBe(false);
      expect(state).toMatchObject({ leader: null, lastLeader: 'pg_node1', leaderMissingSince: 2_000 });
    });

    it('row 10: the same leader back on the next poll leaves no leader event at all', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [primary('pg_node1', 3), replica('pg_node2', 3), replica('pg_node3', 3)], view(null, 3)),
        healthy(3_000, 'pg_node1', 3),
      );
      expect(typesAfterStart(events)).toEqual([]);
    });

    it('row 11: no_leader once leaderless for 2 s, dated from the first leaderless poll', () => {
      const { events } = run(healthy(1_000, 'pg_node1', 3), leaderless(2_000), leaderless(3_000), leaderless(4_000), leaderless(5_000));
      expect(only(events, 'no_leader')).toMatchObject({ lastLeader: 'pg_node1', since: 2_000, observedAt: 4_000 });
    });

    it('row 11: two quick leaderless polls in a row are still a handover, not an alert', () => {
      const { events } = run(healthy(1_000, 'pg_node1', 3), leaderless(2_000), leaderless(2_050));
      expect(events.some((e) => e.type === 'no_leader')).toBe(false);
    });

    it('row 12: a new leader after no_leader is a failover, then leader_restored', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        leaderless(2_000),
        leaderless(3_000),
        leaderless(4_000),
        observation(
          5_000,
          [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)],
          view('pg_node2', 4, ['pg_node2', 'pg_node3']),
        ),
      );
      const types = typesAfterStart(events);
      expect(types.indexOf('leader_changed')).toBeLessThan(types.indexOf('leader_restored'));
      expect(only(events, 'leader_changed')).toMatchObject({
        from: 'pg_node1',
        to: 'pg_node2',
        kind: 'failover',
        evidence: { cause: 'after_no_leader' },
      });
      expect(only(events, 'leader_restored')).toMatchObject({ leader: 'pg_node2', leaderlessSince: 2_000 });
    });

    it('row 12: a new leader after a single leaderless poll is a plain leader change', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        leaderless(2_000),
        observation(
          3_000,
          [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)],
          view('pg_node2', 4, ['pg_node2', 'pg_node3']),
        ),
      );
      expect(only(events, 'leader_changed')).toMatchObject({
        from: 'pg_node1',
        to: 'pg_node2',
        evidence: { cause: 'old_leader_unreachable' },
      });
      expect(events.some((e) => e.type === 'leader_restored')).toBe(false);
    });

    it('row 13: the same leader back after no_leader is leader_restored only', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3, true),
        leaderless(2_000),
        leaderless(3_000),
        leaderless(4_000),
        healthy(5_000, 'pg_node1', 3, true),
      );
      expect(events.some((e) => e.type === 'leader_changed')).toBe(false);
      expect(only(events, 'leader_restored')).toMatchObject({ leader: 'pg_node1' });
    });
  });

  describe('row 14: leader unknown', () => {
    it('invents nothing when /cluster is silent and no single primary holds the lock', () => {
      const { events, state } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [failed('pg_node1'), replica('pg_node2', 3), replica('pg_node3', 3)], null),
      );
      expect(typesAfterStart(events)).toEqual(['member_unreachable']);
      expect(state.leader).toBe('pg_node1');
    });

    it('takes the leader from /patroni when /cluster is silent but one primary holds the lock', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], null),
      );
      expect(only(events, 'leader_changed')).toMatchObject({ from: 'pg_node1', to: 'pg_node2' });
    });
  });

  describe('row 24: time nobody watched', () => {
    it('records a gap from the last poll to the start of the one after it, first, before what that poll saw', () => {
      // Prepare: polls at 1 s and then, after the poller was away, at 120 s, which sees a failover.
      const baseline = detect(null, healthy(1_000, 'pg_node1', 3)).state;
      const late = {
        ...observation(120_500, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4)),
        startedAt: 120_000,
      };
      // Act
      const { events } = detect(baseline, late, {}, { unwatchedAfterMs: 30_000 });
      // Assess
      expect(events[0]).toMatchObject({ type: 'watch_gap', unwatchedFrom: 1_000, unwatchedUntil: 120_000 });
      expect(events.slice(1).map((e) => e.type)).toContain('leader_changed');
    });

    it('records nothing within the allowance, nor when no allowance is given', () => {
      const baseline = detect(null, healthy(1_000, 'pg_node1', 3)).state;
      expect(detect(baseline, healthy(31_000, 'pg_node1', 3), {}, { unwatchedAfterMs: 30_000 }).events).toEqual([]);
      expect(detect(baseline, healthy(31_001, 'pg_node1', 3), {}, { unwatchedAfterMs: 30_000 }).events.map((e) => e.type)).toEqual([
        'watch_gap',
      ]);
      expect(detect(baseline, healthy(900_000, 'pg_node1', 3)).events).toEqual([]);
    });
  });

  describe('row 23: redundancy restored after a promotion', () => {
    it('waits until every other member in /cluster streams on the new timeline, or has left it', () => {
      // Prepare: pg_node1 killed; pg_node2 promoted; pg_node1 still listed (stopped), pg_node3 on the old timeline,
      // then following on the new one.
      const afterPromotion = (observedAt: number, node3Timeline: number) =>
        observation(observedAt, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', node3Timeline)], {
          scope: 'denemek',
          paused: false,
          scheduledSwitchover: null,
          members: [
            viewMember('pg_node1', 'replica', null, 'stopped'),
            viewMember('pg_node2', 'leader', 4),
            viewMember('pg_node3', 'replica', node3Timeline, 'streaming'),
          ],
        });
      const promoted = afterPromotion(2_000, 3);
      const followed = afterPromotion(5_000, 4);
      // pg_node1's member key expired: it left /cluster.
      const removed = observation(
        40_000,
        [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)],
        view('pg_node2', 4, ['pg_node2', 'pg_node3']),
      );
      // Act
      const { events } = run(healthy(1_000, 'pg_node1', 3), promoted, followed, removed, removed);
      // Assess: nothing while pg_node1 is listed stopped, one event once it is gone, none after.
      expect(events.filter((e) => e.type === 'redundancy_restored')).toEqual([
        expect.objectContaining({ observedAt: 40_000, leader: 'pg_node2', timeline: 4, replicas: ['pg_node3'], afterMs: 38_000 }),
      ]);
    });

    it('never reports redundancy with no replica left at all', () => {
      const alone = observation(3_000, [failed('pg_node1'), primary('pg_node2', 4), failed('pg_node3')], view('pg_node2', 4, ['pg_node2']));
      const { events } = run(healthy(1_000, 'pg_node1', 3), alone, { ...alone, observedAt: 4_000 });
      expect(events.some((e) => e.type === 'redundancy_restored')).toBe(false);
    });
  });

  describe('rows 15-17: timelines', () => {
    it('row 15: timeline_changed with the same leader is a re-promotion in place (crash on Patroni < 3.0.4)', () => {
      const { events } = run(healthy(1_000, 'pg_node1', 3), healthy(2_000, 'pg_node1', 4));
      // The replicas already stream on the new timeline in that poll: redundancy is back at once.
      expect(typesAfterStart(events)).toEqual(['timeline_changed', 'redundancy_restored']);
      expect(only(events, 'timeline_changed')).toMatchObject({ from: 3, to: 4, leader: 'pg_node1' });
    });

    it("row 16: every missed promotion becomes a reconciled leader_changed with Patroni's timestamp", () => {
      const history = [
        historyRow(1, 'pg_node2', '2026-11-26T02:41:55.139410+00:00'),
        historyRow(2, 'pg_node3', '2026-11-26T02:42:32.063409+00:00'),
        historyRow(3, 'pg_node3', '2026-11-26T02:43:13.535408+00:00'), // re-promotion of the same node: no leader change
        historyRow(4, 'pg_node1', '2026-11-26T02:44:30.287405+00:00'),
        historyRow(5, 'pg_node2', '2026-11-26T02:45:06.327404+00:00'),
      ];
      const { events } = run(
        healthy(1_000, 'pg_node1', 2),
        observation(9_000, [replica('pg_node1', 6), primary('pg_node2', 6), replica('pg_node3', 6)], view('pg_node2', 6), history),
      );
      const changes = events.filter((e) => e.type === 'leader_changed');
      expect(changes.map((e) => [e.from, e.to, e.oldTimeline, e.newTimeline, e.reconciled, e.happenedAt])).toEqual([
        ['pg_node1', 'pg_node3', 2, 3, true, '2026-11-26T02:42:32.063409+00:00'],
        ['pg_node3', 'pg_node1', 4, 5, true, '2026-11-26T02:44:30.287405+00:00'],
        ['pg_node1', 'pg_node2', 2, 6, false, '2026-11-26T02:45:06.327404+00:00'],
      ]);
      expect(only(events, 'timeline_changed')).toMatchObject({ from: 2, to: 6, missedPromotions: 3 });
    });

    it('row 17: without /history the gap is reported, not guessed', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 2),
        observation(9_000, [replica('pg_node1', 5), primary('pg_node2', 5), replica('pg_node3', 5)], view('pg_node2', 5), null),
      );
      expect(events.filter((e) => e.type === 'leader_changed' && e.reconciled)).toEqual([]);
      expect(only(events, 'leader_changed')).toMatchObject({ from: 'pg_node1', to: 'pg_node2' });
      expect(only(events, 'timeline_changed')).toMatchObject({ from: 2, to: 5, missedPromotions: 2 });
    });

    it('never moves the timeline backwards because one member reports an old one', () => {
      const { events, state } = run(
        healthy(1_000, 'pg_node1', 5),
        observation(2_000, [primary('pg_node1', 5), replica('pg_node2', 4), replica('pg_node3', 5)], view('pg_node1', 5)),
      );
      expect(typesAfterStart(events)).toEqual([]);
      expect(state.timeline).toBe(5);
    });
  });

  describe('row 18: split brain', () => {
    it('split_brain when two members run as primaries, split_brain_resolved when one is left', () => {
      const { events } = run(
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [primary('pg_node1', 3), primary('pg_node2', 3), replica('pg_node3', 3)], view('pg_node1', 3)),
        healthy(3_000, 'pg_node1', 3),
      );
      expect(events.filter((e) => e.type.startsWith('split_brain')).map((e) => e.type)).toEqual(['split_brain', 'split_brain_resolved']);
    });

    it('names the member that reported the new timeline, not the lock holder still on the old one (issue 17, item 10)', () => {
      // Prepare: pg_node1 keeps the lock on timeline 5 while pg_node2 promoted itself to timeline 6 (its own reply
      // and its DCS member key both say so).
      const dcs = view('pg_node1', 5);
      const members = dcs.members.map((m) => (m.name === 'pg_node2' ? { ...m, timeline: 6 } : m));
      const twoPrimaries = observation(2_000, [primary('pg_node1', 5), primary('pg_node2', 6), replica('pg_node3', 5)], {
        ...dcs,
        members,
      });
      // Act
      const { events } = run(healthy(1_000, 'pg_node1', 5), twoPrimaries);
      // Assess
      expect(only(events, 'timeline_changed')).toMatchObject({ from: 5, to: 6, leader: 'pg_node2' });
    });
  });

  describe('row 5: member churn that large is one event (issue 17, item 5)', () => {
    it('summarises 150 unknown members in one dcs_membership_changed, and records the switchover of the same poll', () => {
      // Prepare: /cluster suddenly lists 150 strangers, and pg_node2 took over from pg_node1.
      const handedOver = handedOverToNode2(2_000);
      const strangers = Array.from({ length: 150 }, (_, i) => ({
        ...handedOver.view!.members[2]!,
        name: `stranger${i}`,
        role: 'replica' as const,
      }));
      const crowded = { ...handedOver, view: { ...handedOver.view!, members: [...handedOver.view!.members, ...strangers] } };
      // Act
      const { events } = run(healthy(1_000, 'pg_node1', 3), crowded);
      // Assess
      expect(events.filter((e) => e.type === 'member_added')).toHaveLength(0);
      expect(only(events, 'dcs_membership_changed')).toMatchObject({
        added: 150,
        removed: 0,
        sample: expect.arrayContaining(['stranger0']),
      });
      expect(only(events, 'leader_changed')).toMatchObject({ from: 'pg_node1', to: 'pg_node2' });
    });
  });

  describe('row 21: words no Patroni version sends (issue 17, item 4)', () => {
    /** `/cluster` calls the leader "Leader": parsed as unknown, while pg_node1 itself answers primary/running. */
    const oddView = (at: number) => {
      const base = view('pg_node1', 3);
      const members = base.members.map((m) => (m.name === 'pg_node1' ? { ...m, role: 'unknown' as const, rawRole: 'Leader' } : m));
      return observation(at, [primary('pg_node1', 3), replica('pg_node2', 3), replica('pg_node3', 3)], { ...base, members });
    };

    it("does not outvote the leader's own consistent reply: no no_leader, the leader stays, one unexpected_reply note", () => {
      // Act: five polls over four seconds, past the no_leader debounce.
      const { events, state } = run(healthy(1_000, 'pg_node1', 3), oddView(2_000), oddView(3_000), oddView(4_000), oddView(5_000));
      // Assess
      expect(typesAfterStart(events)).toEqual(['unexpected_reply']);
      expect(only(events, 'unexpected_reply')).toMatchObject({ member: 'pg_node1', source: '/cluster', field: 'role', value: 'Leader' });
      expect(state.leader).toBe('pg_node1');
    });

    it('still says no leader when the members agree the lock is free', () => {
      const unlocked = (at: number) => {
        const obs = oddView(at);
        return {
          ...obs,
          members: [
            replica('pg_node1', 3, { clusterUnlocked: true }),
            replica('pg_node2', 3, { clusterUnlocked: true }),
            replica('pg_node3', 3, { clusterUnlocked: true }),
          ],
        };
      };
      const { events } = run(healthy(1_000, 'pg_node1', 3), unlocked(2_000), unlocked(3_000), unlocked(5_000));
      expect(events.map((e) => e.type)).toContain('no_leader');
    });
  });

  describe('row 22: a timeline is believed only with corroboration (issue 17, item 3)', () => {
    const absurd = 9_007_199_254_740_991;

    it("one absurd reply is that member's invalid_reply, and the two real promotions after it are recorded in full", () => {
      // Act
      const { events, state } = run(
        healthy(1_000, 'pg_node1', 5),
        observation(2_000, [primary('pg_node1', 5), replica('pg_node2', 5), replica('pg_node3', absurd)], view('pg_node1', 5)),
        healthy(3_000, 'pg_node1', 5),
        observation(4_000, [failed('pg_node1'), primary('pg_node2', 6), replica('pg_node3', 6)], view('pg_node2', 6)),
        observation(5_000, [failed('pg_node1'), replica('pg_node2', 6), primary('pg_node3', 7)], view('pg_node3', 7)),
      );
      // Assess
      expect(events.find((e) => e.type === 'member_unreachable')).toMatchObject({
        member: 'pg_node3',
        status: 'invalid_reply',
        error: expect.stringContaining('reported timeline 9007199254740991'),
      });
      expect(events.filter((e) => e.type === 'timeline_changed').map((e) => [e.from, e.to])).toEqual([
        [5, 6],
        [6, 7],
      ]);
      expect(events.filter((e) => e.type === 'leader_changed').map((e) => e.newTimeline)).toEqual([6, 7]);
      expect(state.timeline).toBe(7);
    });

    it('one replica alone claiming the next timeline moves nothing', () => {
      const { events, state } = run(
        healthy(1_000, 'pg_node1', 5),
        observation(2_000, [primary('pg_node1', 5), replica('pg_node2', 5), replica('pg_node3', 6)], view('pg_node1', 5)),
      );
      expect(events.some((e) => e.type === 'timeline_changed')).toBe(false);
      expect(state.timeline).toBe(5);
    });

    it("does not move on the leader's own reply alone (found by the detector fuzzing)", () => {
      const { events, state } = run(
        healthy(1_000, 'pg_node1', 5),
        observation(2_000, [primary('pg_node1', 6), replica('pg_node2', 5), replica('pg_node3', 5)], view('pg_node1', 5)),
      );
      expect(events.some((e) => e.type === 'timeline_changed')).toBe(false);
      expect(state.timeline).toBe(5);
    });

    it('believes /history for a timeline no member vouches for twice', () => {
      const obs = observation(2_000, [primary('pg_node1', 5), replica('pg_node2', 5), replica('pg_node3', 6)], view('pg_node1', 5));
      const { state } = run(healthy(1_000, 'pg_node1', 5), { ...obs, history: [historyRow(5, 'pg_node3')] });
      expect(state.timeline).toBe(6);
    });
  });

  describe('rows 19-20: identity', () => {
    it('row 19: a member of another cluster is reported once and ignored', () => {
      const stranger = (at: number) =>
        observation(
          at,
          [primary('pg_node1', 3), replica('pg_node2', 3), primary('pg_node3', 9, { scope: 'other', systemIdentifier: '1' })],
          view('pg_node1', 3),
        );
      const { events, state } = run(healthy(1_000, 'pg_node1', 3), stranger(2_000), stranger(3_000));
      expect(only(events, 'identity_mismatch')).toMatchObject({
        member: 'pg_node3',
        field: 'scope',
        expected: 'denemek',
        actual: 'other',
        rebootstrapped: false,
      });
      expect(events.some((e) => e.type === 'split_brain' || e.type === 'timeline_changed')).toBe(false);
      expect(state.timeline).toBe(3);
    });

    it('row 19: a configured scope that no member has is reported at the first poll', () => {
      const configured = detect(null, healthy(1_000, 'pg_node1', 3), { scope: 'production' });
      expect(configured.events.filter((e) => e.type === 'identity_mismatch')).toHaveLength(3);
      expect(configured.state.reachable).toBe(false);
    });

    it('row 20: a new system identifier on every member is a re-bootstrap; the timeline starts again', () => {
      const rebuilt = (at: number) => {
        const obs = healthy(at, 'pg_node2', 1);
        return {
          ...obs,
          members: obs.members.map((m) => (m.status === 'ok' ? { ...m, report: { ...m.report, systemIdentifier: '999' } } : m)),
        };
      };
      const { events, state } = run(healthy(1_000, 'pg_node1', 7), rebuilt(2_000));
      expect(only(events, 'identity_mismatch')).toMatchObject({
        member: null,
        field: 'system_identifier',
        expected: SYSTEM_ID,
        actual: '999',
        rebootstrapped: true,
      });
      expect(events.some((e) => e.type === 'timeline_changed' || e.type === 'leader_changed')).toBe(false);
      expect(state).toMatchObject({ systemIdentifier: '999', timeline: 1, leader: 'pg_node2' });
    });
  });
});
