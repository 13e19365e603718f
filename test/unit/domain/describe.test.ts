import { describe, expect, it } from 'vitest';
import { describeEvent } from '../../../lambdas/domain/describe.js';
import { type AnyPayload, EVENT_TYPES, makeEvent, type OutageBounds } from '../../../lambdas/domain/events.js';
import { unreachableWithError } from '../../support/factories.js';

const outage: OutageBounds = {
  startedAfter: 0,
  startedBefore: 1_000,
  endedAfter: 4_000,
  endedBefore: 4_250,
  downtimeMinMs: 3_800,
  downtimeMaxMs: 4_250,
};
const trigger = { id: 'c:0000000002:000', type: 'leader_changed' };

/** One payload of every event type, with the words its sentence must contain. */
const CASES: readonly [AnyPayload, string][] = [
  [
    { type: 'watch_started', leader: 'pg_node1', timeline: 3, members: ['pg_node1', 'pg_node2'] },
    'watching: leader pg_node1, timeline 3, members pg_node1, pg_node2',
  ],
  [
    {
      type: 'leader_changed',
      from: 'pg_node1',
      to: 'pg_node2',
      oldTimeline: 3,
      newTimeline: null,
      kind: 'failover',
      evidence: { cause: 'old_leader_unreachable', detail: 'pg_node1 unreachable: connection refused' },
      oldLeaderWalPosition: null,
      switchLsn: null,
      walBytesAtRisk: null,
    },
    'leader pg_node1 → pg_node2 (failover; timeline 3 → ?): pg_node1 unreachable: connection refused',
  ],
  [
    { type: 'timeline_changed', from: 3, to: 5, leader: 'pg_node2', missedPromotions: 1 },
    'timeline 3 → 5 on pg_node2 (1 promotions between polls)',
  ],
  [
    { type: 'member_role_changed', member: 'pg_node1', from: 'primary', to: 'demoted', wasLeader: true },
    'pg_node1: role primary → demoted',
  ],
  [
    { type: 'member_state_changed', member: 'pg_node1', from: 'running', to: 'crashed', wasLeader: true },
    'pg_node1 (leader): state running → crashed',
  ],
  [
    {
      type: 'member_unreachable',
      member: 'pg_node2',
      url: 'http://10.0.0.5:8008',
      status: 'timeout',
      error: 'no answer',
      wasLeader: false,
    },
    'pg_node2 unreachable (timeout): no answer',
  ],
  [{ type: 'member_reachable', member: 'pg_node2', url: 'http://10.0.0.5:8008' }, 'pg_node2 answers again'],
  [{ type: 'member_added', member: 'pg_node4' }, 'pg_node4 joined the DCS'],
  [{ type: 'member_removed', member: 'pg_node4' }, 'pg_node4 left the DCS'],
  [
    { type: 'dcs_membership_changed', added: 150, removed: 0, sample: ['s0', 's1'] },
    '150 member keys appeared and 0 expired in the DCS at once (s0, s1, ...)',
  ],
  [
    { type: 'no_leader', lastLeader: 'pg_node1', since: 0 },
    'NO LEADER since 1970-01-01T00:00:00.000Z (last leader pg_node1): writes are failing',
  ],
  [{ type: 'leader_restored', leader: 'pg_node1', leaderlessSince: 0 }, 'leader pg_node1 holds the lock again'],
  [{ type: 'split_brain', members: ['pg_node1', 'pg_node2'] }, 'SPLIT BRAIN: pg_node1 and pg_node2 both run as primaries'],
  [{ type: 'split_brain_resolved', members: ['pg_node1', 'pg_node2'] }, 'split brain over: pg_node1, pg_node2'],
  [{ type: 'cluster_paused' }, 'maintenance mode on'],
  [{ type: 'cluster_resumed' }, 'maintenance mode off'],
  [
    { type: 'cluster_unreachable', errors: { pg_node1: 'unreachable: connection refused' } },
    'no member answers: pg_node1 unreachable: connection refused',
  ],
  [{ type: 'cluster_reachable' }, 'members answer again'],
  [
    { type: 'identity_mismatch', member: 'pg_node3', field: 'scope', expected: 'denemek', actual: 'other', rebootstrapped: false },
    'pg_node3 belongs to another cluster (scope other, expected denemek): ignored',
  ],
  [
    { type: 'redundancy_restored', leader: 'pg_node2', timeline: 4, replicas: ['pg_node1', 'pg_node3'], afterMs: 12_300 },
    'redundancy restored: pg_node1, pg_node3 streaming from pg_node2 on timeline 4, 12.3 s after the timeline moved',
  ],
  [
    { type: 'watch_gap', unwatchedFrom: Date.UTC(2026, 10, 26, 3), unwatchedUntil: Date.UTC(2026, 10, 26, 3, 2) },
    'not watched from 2026-11-26T03:00:00.000Z to 2026-11-26T03:02:00.000Z (2.0 min): the poller was not polling',
  ],
  [
    { type: 'unexpected_reply', member: 'pg_node1', source: '/cluster', field: 'role', value: 'Leader' },
    'pg_node1: /cluster says role "Leader", which no Patroni version sends: not taken as an outage',
  ],
  [
    {
      type: 'write_verified',
      trigger,
      incident: trigger.id,
      restoredAt: '2026-11-26T04:35:37.808Z',
      stableSince: '2026-11-26T04:35:39.811Z',
      attempts: 28,
      errors: { timeout: 24 },
      servedBy: { address: '127.0.0.1', port: 5433, timeline: 2 },
      outage,
    },
    // Recorded before restore-for-good: the final run of good writes was in stableSince.
    'writes work again for good through the VIP at 2026-11-26T04:35:39.811Z, on 127.0.0.1:5433 (timeline 2); write outage 3.8-4.3 s, first good write at 2026-11-26T04:35:37.808Z after 28 attempts; errors: 24 timeout',
  ],
  [
    {
      type: 'write_verified',
      trigger,
      incident: trigger.id,
      restoredAt: '2026-11-26T04:35:39.811Z',
      firstGoodWriteAt: '2026-11-26T04:35:37.808Z',
      flapping: { failedAttempts: 5, spanMs: 2_003 },
      attempts: 28,
      errors: { timeout: 24 },
      servedBy: { address: '127.0.0.1', port: 5433, timeline: 2 },
      outage,
    },
    'writes work again for good through the VIP at 2026-11-26T04:35:39.811Z, on 127.0.0.1:5433 (timeline 2); write outage 3.8-4.3 s, flapping for 2.0 s after a first good write at 2026-11-26T04:35:37.808Z (5 failed attempts) after 28 attempts; errors: 24 timeout',
  ],
  [
    {
      type: 'write_unavailable',
      trigger,
      incident: trigger.id,
      attempts: 361,
      errors: { refused: 361 },
      lastError: 'connect ECONNREFUSED',
      deadlineSeconds: 90,
      outage,
    },
    'WRITES STILL FAILING through the VIP after 90 s (361 attempts; errors: 361 refused): connect ECONNREFUSED',
  ],
  [
    { type: 'canary_failed', vip: '10.0.0.10:5000', errorClass: 'refused', error: 'connect ECONNREFUSED' },
    'a canary write through the VIP 10.0.0.10:5000 failed (refused): connect ECONNREFUSED',
  ],
  [
    {
      type: 'failover_readiness_lost',
      leader: 'pg_node1',
      level: 'warning',
      candidates: [],
      excluded: [
        { member: 'pg_node2', reason: 'tagged nofailover' },
        { member: 'pg_node3', reason: 'PostgreSQL stopped' },
      ],
      since: 0,
    },
    'NO FAILOVER CANDIDATE for leader pg_node1 since 1970-01-01T00:00:00.000Z: if it fails now, Patroni cannot fail over (pg_node2: tagged nofailover; pg_node3: PostgreSQL stopped)',
  ],
  [
    { type: 'failover_readiness_restored', leader: 'pg_node1', candidates: ['pg_node2'], since: 0, afterMs: 42_000 },
    'failover possible again after 42 s: candidates pg_node2',
  ],
  [
    { type: 'promotion_stuck', member: 'pg_node2', role: 'replica', state: 'running', since: 0, loopWaitSeconds: 10 },
    'PROMOTION STUCK: pg_node2 holds the leader lock but its PostgreSQL is still replica (running) after more than one loop_wait (10 s)',
  ],
  [
    { type: 'leader_lock_at_risk', leader: 'pg_node1', unrenewedForMs: 24_000, thresholdMs: 20_000, failsafeMode: false, since: 0 },
    'leader pg_node1 has not read the DCS for 24 s (more than ttl - loop_wait, 20 s): its lock may expire; failsafe_mode is off: the primary will demote itself',
  ],
  [{ type: 'leader_lock_renewed', leader: 'pg_node1', since: 0, afterMs: 9_000 }, 'leader pg_node1 reads the DCS again (9 s after'],
  [
    { type: 'dcs_unreachable', members: ['pg_node1', 'pg_node2'], unrenewedForMs: 31_000, failsafeMode: true, since: 0 },
    'DCS UNREACHABLE: no member (pg_node1, pg_node2) has read it for 31 s; failsafe_mode is on',
  ],
  [{ type: 'dcs_reachable', since: 0, afterMs: 60_000 }, 'members read the DCS again after 60 s'],
  [
    { type: 'sync_commit_stalled', leader: 'pg_node1', excluded: [{ member: 'pg_node2', reason: 'PostgreSQL stopped' }], since: 0 },
    'COMMITS STALLED on pg_node1: synchronous_mode_strict is on and no synchronous standby streams (pg_node2: PostgreSQL stopped)',
  ],
  [
    { type: 'sync_commit_resumed', leader: 'pg_node1', syncStandbys: ['pg_node2'], since: 0, afterMs: 12_000 },
    'commits resume on pg_node1: synchronous standby pg_node2 after 12 s',
  ],
  [
    {
      type: 'redundancy_lost',
      leader: 'pg_node1',
      timeline: 3,
      healthy: [],
      minimum: 1,
      excluded: [{ member: 'pg_node2', reason: 'PostgreSQL stopped' }],
      since: 0,
    },
    'redundancy lost: 0 healthy replica(s) of a minimum 1 streaming from pg_node1 (pg_node2: PostgreSQL stopped)',
  ],
  [
    { type: 'replica_lagging', member: 'pg_node3', lagBytes: 8_388_608, thresholdBytes: 1_048_576, replayPaused: true, since: 0 },
    'pg_node3 is 8.0 MB behind the leader (threshold 1.0 MB); its replay is paused',
  ],
  [
    { type: 'replica_caught_up', member: 'pg_node3', lagBytes: 0, since: 0, afterMs: 31_000 },
    'pg_node3 caught up (0.0 MB behind) after 31 s',
  ],
  [
    {
      type: 'config_changed',
      changes: [
        { key: 'loop_wait', from: '10', to: '5' },
        { key: 'standby_cluster.primary_conninfo', from: '(secret)', to: null },
      ],
    },
    '/config changed: loop_wait 10 → 5; standby_cluster.primary_conninfo (secret) → (unset)',
  ],
  [{ type: 'member_tags_changed', member: 'pg_node2', from: {}, to: { nofailover: true } }, 'pg_node2: tags no tags → nofailover=true'],
  [
    { type: 'pending_restart_changed', member: 'pg_node2', pending: true, reasons: ['max_connections'] },
    'pg_node2: restart pending (max_connections)',
  ],
  [
    { type: 'version_changed', member: 'pg_node2', component: 'postgresql', from: '160004', to: '160008' },
    'pg_node2: PostgreSQL 160004 → 160008',
  ],
  [
    { type: 'scheduled_action', action: 'switchover', at: '2026-12-02T02:00:00+00:00', member: null, from: 'pg_node1', to: 'pg_node2' },
    'switchover scheduled for 2026-12-02T02:00:00+00:00 from pg_node1 to pg_node2 (planned)',
  ],
];

describe('Function: describeEvent', () => {
  it('has a case here for every event type', () => {
    expect([...new Set(CASES.map(([payload]) => payload.type))].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it.each(CASES)('describes %j for people', (payload, sentence) => {
    const event = makeEvent({ id: 'c:0000000002:000', cluster: 'c', observedAt: 1_000, previousObservedAt: 0 }, payload);
    expect(describeEvent(event)).toContain(sentence);
  });

  it('marks a leader change recovered from /history and a re-bootstrap', () => {
    const [changed] = CASES[1]!;
    const reconciled = makeEvent({ id: 'x', cluster: 'c', observedAt: 1, previousObservedAt: 0, reconciled: true }, changed);
    expect(describeEvent(reconciled)).toContain('[reconciled from /history]');
    const rebootstrap = makeEvent(
      { id: 'y', cluster: 'c', observedAt: 1, previousObservedAt: 0 },
      { type: 'identity_mismatch', member: null, field: 'system_identifier', expected: '71', actual: '72', rebootstrapped: true },
    );
    expect(describeEvent(rebootstrap)).toBe('cluster re-bootstrapped: system identifier 71 → 72');
  });
});

describe('Function: makeEvent', () => {
  it('lets no payload field overwrite the envelope, and defaults Patroni time and reconciliation', () => {
    const forged = { type: 'cluster_reachable', id: 'forged', cluster: 'other' } as AnyPayload;
    const event = makeEvent({ id: 'real', cluster: 'c', observedAt: 5, previousObservedAt: null }, forged);
    expect(event).toMatchObject({
      id: 'real',
      cluster: 'c',
      observedAt: 5,
      happenedAt: null,
      reconciled: false,
      type: 'cluster_reachable',
    });
    expect(Object.keys(event).slice(0, 2)).toEqual(['id', 'cluster']);
  });
});

describe('Untrusted text in human output (issue 17, item 1)', () => {
  it('keeps one event on one line and drops terminal escapes, whatever an error message carried', () => {
    const event = unreachableWithError(
      'body "x\n2026-11-26T04:00:00.000Z  c  leader_changed  leader pg_node1 → mallory\u001b[2K\u001b[31m\u202e"',
    );
    const text = describeEvent(event);
    for (const control of ['\n', '\r', '\u001b', '\u202e']) expect(text).not.toContain(control);
    expect(text).toContain('x?2026-11-26T04:00:00.000Z');
  });
});
