import { describe, expect, it } from 'vitest';
import {
  type AnatomyInput,
  anatomySummary,
  causeOf,
  type HaproxyTimings,
  incidentAnatomy,
  longestPhase,
  type PatroniSettings,
  SAMPLE_HAPROXY_TIMINGS,
} from '../../../lambdas/domain/anatomy.js';
import { type AnyPayload, type ClusterEvent, makeEvent } from '../../../lambdas/domain/events.js';
import { leaderChangedEvent } from '../../support/factories.js';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const FIELD: PatroniSettings = { ttl: 30, loopWait: 10, retryTimeout: 10, primaryStartTimeout: 300, maximumLagOnFailover: 1_048_576 };
const FIELD_HAPROXY: HaproxyTimings = { interSeconds: 3, fall: 3, rise: 2, assumed: false };

let sequence = 0;
function event(at: number, payload: AnyPayload, happenedAt: string | null = null): ClusterEvent {
  sequence++;
  return makeEvent(
    {
      id: `denemek:${String(sequence).padStart(10, '0')}:000`,
      cluster: 'denemek',
      observedAt: T0 + at,
      previousObservedAt: T0 + at - 1_000,
      happenedAt,
    },
    payload,
  );
}

const unreachable = (at: number) =>
  event(at, {
    type: 'member_unreachable',
    member: 'pg_node1',
    url: 'http://10.0.0.4:8008',
    status: 'unreachable',
    error: 'connection refused',
    wasLeader: true,
  });
const timeline = (at: number) => event(at, { type: 'timeline_changed', from: 1, to: 2, leader: 'pg_node2', missedPromotions: 0 });

/** A kill -9 of the leader on Patroni's default timings, every source observed. */
function killInput(overrides: Partial<AnatomyInput> = {}): AnatomyInput {
  const trouble = unreachable(1_000);
  const change = leaderChangedEvent(
    {
      id: 'denemek:0000000100:000',
      cluster: 'denemek',
      observedAt: T0 + 22_000,
      previousObservedAt: T0 + 21_000,
      happenedAt: new Date(T0 + 21_500).toISOString(),
    },
    { evidence: { cause: 'old_leader_unreachable', detail: 'pg_node1 unreachable: connection refused' } },
  );
  return {
    trigger: trouble,
    events: [trouble, change, timeline(23_000)],
    verdict: {
      restoredAt: T0 + 27_400,
      firstGoodWriteAt: T0 + 27_400,
      outage: {
        startedAfter: T0,
        startedBefore: T0 + 1_000,
        endedAfter: T0 + 27_150,
        endedBefore: T0 + 27_400,
        downtimeMinMs: 26_000,
        downtimeMaxMs: 27_400,
      },
    },
    direct: { ok: true, value: { at: T0 + 22_300, member: 'pg_node2', address: '10.0.0.5:5432' } },
    routing: { ok: true, value: { upAt: T0 + 27_000, server: 'pg_node2' } },
    settings: { ok: true, value: FIELD },
    haproxy: FIELD_HAPROXY,
    ...overrides,
  };
}

describe('Function: incidentAnatomy', () => {
  it('splits a kill -9 into its phases, each with its evidence, adding up to the outage', () => {
    // Act
    const anatomy = incidentAnatomy(killInput());
    // Assess
    expect(anatomy.cause.kind).toBe('unreachable');
    expect(anatomy.milestones.map((m) => [m.name, m.at === null ? null : m.at - T0])).toEqual([
      ['last_healthy', 0],
      ['trouble_seen', 1_000],
      // The poll saw the new leader at 22 s; Patroni's /history says it promoted at 21.5 s, so the lock was gone by then.
      ['lock_gone', 21_500],
      ['promoted', 21_500],
      ['writable_direct', 22_300],
      ['vip_routes', 27_000],
      ['first_good_write', 27_400],
      ['writes_stable', 27_400],
    ]);
    expect(anatomy.milestones.find((m) => m.name === 'promoted')!.evidence).toContain('/history');
    expect(anatomy.phases.map((p) => [p.name, p.durationMs])).toEqual([
      ['detection', 1_000],
      ['leader_key', 20_500],
      ['promotion', 0],
      ['new_primary', 800],
      ['haproxy', 4_700],
      ['vip_path', 400],
      ['flapping', 0],
    ]);
    expect(anatomy.phases.reduce((sum, p) => sum + p.durationMs, 0)).toBe(anatomy.outageMs);
    expect(anatomy.outageMs).toBe(27_400);
    expect(longestPhase(anatomy)).toMatchObject({ name: 'leader_key', label: 'waiting for the leader key to expire (ttl 30)' });
  });

  it('does not flag an incident whose bounds are wide because the poller was blind, only one certainly too long', () => {
    // Prepare: a switchover-fast restore, but the last healthy poll 40 s before (the poller was down).
    const blind = killInput();
    const anatomy = incidentAnatomy({
      ...blind,
      verdict: {
        ...blind.verdict,
        outage: { ...blind.verdict.outage, startedAfter: T0 - 40_000, downtimeMinMs: 3_000, downtimeMaxMs: 67_400 },
      },
    });
    expect(anatomy.longerThanPredicted).toBe(false);
    expect(anatomySummary(anatomy)).toMatch(/^3\.0 s-67\.4 s write outage: /);
  });

  it('predicts a kill -9 from ttl, loop_wait and the HAProxy checks, and does not flag one inside the range', () => {
    const anatomy = incidentAnatomy(killInput());
    // (30 − 10) + (2 − 1) × 3 = 23 s .. 30 + 2 + (2 + 1) × 3 = 41 s.
    expect(anatomy.predicted).toMatchObject({ minMs: 23_000, maxMs: 41_000 });
    expect(anatomy.estimatedOutageMs).toBe(26_900);
    expect(anatomy.longerThanPredicted).toBe(false);
    expect(anatomy.predictionNote).toBeNull();
  });

  it('flags an incident that took longer than its settings predict (HAProxy checks slowed)', () => {
    // Prepare: HAProxy marked the new primary UP 24.2 s after it took writes directly.
    const slow = killInput();
    const anatomy = incidentAnatomy({
      ...slow,
      routing: { ok: true, value: { upAt: T0 + 46_500, server: 'pg_node2' } },
      verdict: {
        restoredAt: T0 + 47_000,
        firstGoodWriteAt: T0 + 47_000,
        outage: { ...slow.verdict.outage, endedAfter: T0 + 46_800, endedBefore: T0 + 47_000, downtimeMinMs: 45_500, downtimeMaxMs: 47_000 },
      },
    });
    // Assess
    expect(anatomy.longerThanPredicted).toBe(true);
    expect(longestPhase(anatomy)).toMatchObject({ name: 'haproxy', durationMs: 24_200 });
  });

  it('marks what a cluster cannot observe as not observed, with the reason, and changes nothing else', () => {
    // Act
    const anatomy = incidentAnatomy(
      killInput({
        direct: { ok: false, note: 'the cluster does not let the probe reach its members (vip.probeMembersDirectly off)' },
        routing: { ok: false, note: 'HAProxy stats at http://10.0.0.9:7000/ answered HTML, not CSV' },
      }),
    );
    // Assess
    expect(anatomy.milestones.find((m) => m.name === 'vip_routes')).toEqual({
      name: 'vip_routes',
      at: null,
      evidence: 'not observed: HAProxy stats at http://10.0.0.9:7000/ answered HTML, not CSV',
    });
    expect(anatomy.milestones.find((m) => m.name === 'writable_direct')!.at).toBeNull();
    expect(anatomy.phases.map((p) => p.name)).toEqual(['detection', 'leader_key', 'promotion', 'vip_path', 'flapping']);
    expect(anatomy.phases.find((p) => p.name === 'vip_path')).toMatchObject({ durationMs: 5_900, label: 'HAProxy' });
    expect(anatomy.phases.reduce((sum, p) => sum + p.durationMs, 0)).toBe(27_400);
    expect(anatomy.predicted).toMatchObject({ minMs: 23_000, maxMs: 41_000 });
  });

  it('gives no prediction, with a note, when /config was unreadable or partial', () => {
    const unreadable = incidentAnatomy(killInput({ settings: { ok: false, note: '/config unreadable: every member refused' } }));
    expect(unreadable).toMatchObject({
      predicted: null,
      longerThanPredicted: null,
      predictionNote: 'no prediction: /config unreadable: every member refused',
    });
    const partial = incidentAnatomy(killInput({ settings: { ok: true, value: { loopWait: 10 } } }));
    expect(partial).toMatchObject({ predicted: null, predictionNote: 'no prediction: /config did not give ttl and loop_wait' });
    // The phases stay as they were; only the key phase cannot say it waited for the ttl.
    expect(partial.phases.find((p) => p.name === 'leader_key')).toMatchObject({
      durationMs: 20_500,
      label: 'until the leader key was gone',
    });
  });

  it("says when it assumed the sample HAProxy's timings", () => {
    const anatomy = incidentAnatomy(killInput({ haproxy: SAMPLE_HAPROXY_TIMINGS }));
    expect(anatomy.predictionNote).toContain("assumed Patroni's sample");
  });

  it('predicts a released leader key (graceful stop) without the ttl', () => {
    // Prepare: the leader stopped at 0.5 s; the new leader seen at 1 s; writes stable at 8.8 s.
    const trouble = unreachable(1_000);
    const change = leaderChangedEvent(
      { id: 'denemek:0000000101:000', cluster: 'denemek', observedAt: T0 + 1_000, previousObservedAt: T0 },
      { evidence: { cause: 'old_leader_unreachable', detail: 'pg_node1 unreachable' } },
    );
    const input = killInput({ trigger: trouble, events: [trouble, change, timeline(2_000)] });
    const anatomy = incidentAnatomy({
      ...input,
      direct: { ok: false, note: 'off' },
      routing: { ok: false, note: 'off' },
      verdict: {
        restoredAt: T0 + 8_800,
        firstGoodWriteAt: T0 + 6_300,
        outage: { ...input.verdict.outage, endedAfter: T0 + 8_600, endedBefore: T0 + 8_800, downtimeMinMs: 7_400, downtimeMaxMs: 8_800 },
      },
    });
    // Assess: (3 − 1) × 3 = 6 s .. 2 + 3 × 3 + 3 = 14 s.
    expect(anatomy.phases.find((p) => p.name === 'leader_key')!.label).toBe('the leader key released');
    expect(anatomy.predicted).toMatchObject({ minMs: 6_000, maxMs: 14_000 });
    expect(anatomy.longerThanPredicted).toBe(false);
    expect(anatomy.phases.find((p) => p.name === 'flapping')).toMatchObject({ durationMs: 2_500 });
  });
});

describe('Function: causeOf', () => {
  it('says planned for a switchover', () => {
    const change = leaderChangedEvent(
      { id: 'x:1', cluster: 'denemek', observedAt: T0, previousObservedAt: null },
      { kind: 'switchover', evidence: { cause: 'old_leader_demoted', detail: 'handed over' } },
    );
    expect(causeOf([change])).toMatchObject({ kind: 'planned', eventIds: ['x:1'] });
  });

  it('says PostgreSQL crashed when the leader reported PostgreSQL down, with or without a new leader', () => {
    const crashed = event(1_000, { type: 'member_state_changed', member: 'pg_node1', from: 'running', to: 'crashed', wasLeader: true });
    expect(causeOf([crashed]).kind).toBe('postgres_crashed');
    const change = leaderChangedEvent(
      { id: 'x:2', cluster: 'denemek', observedAt: T0 + 3_000, previousObservedAt: null },
      { evidence: { cause: 'old_leader_postgres_down', detail: 'pg_node1 reports primary/crashed' } },
    );
    expect(causeOf([change])).toMatchObject({ kind: 'postgres_crashed', detail: expect.stringContaining('primary/crashed') });
  });

  it("reads Patroni's own graceful stop (stopping) as no cause, and the demotion after it as the DCS lost (etcd down)", () => {
    const stopping = event(1_000, {
      type: 'member_state_changed',
      member: 'pg_node1',
      from: 'running',
      to: 'stopping',
      wasLeader: true,
      role: 'primary',
    });
    const demoted = event(2_000, { type: 'member_role_changed', member: 'pg_node1', from: 'primary', to: 'replica', wasLeader: true });
    expect(causeOf([stopping, demoted]).kind).toBe('dcs_lost');
    const stoppedAsPrimary = event(1_000, {
      type: 'member_state_changed',
      member: 'pg_node1',
      from: 'running',
      to: 'stopped',
      wasLeader: true,
      role: 'primary',
    });
    expect(causeOf([stoppedAsPrimary]).kind).toBe('postgres_crashed');
  });

  it('says DCS lost when the leader demoted itself while answering, or no one holds the key while it answers', () => {
    const demoted = event(1_000, { type: 'member_role_changed', member: 'pg_node1', from: 'primary', to: 'replica', wasLeader: true });
    expect(causeOf([demoted]).kind).toBe('dcs_lost');
    const leaderless = event(1_000, { type: 'no_leader', lastLeader: 'pg_node1', since: T0 });
    expect(causeOf([leaderless]).kind).toBe('dcs_lost');
    expect(causeOf([unreachable(500), leaderless]).kind).toBe('unreachable');
  });

  it('says unreachable after no leader when the old leader had become unreachable', () => {
    const change = leaderChangedEvent(
      { id: 'x:3', cluster: 'denemek', observedAt: T0 + 25_000, previousObservedAt: null },
      { evidence: { cause: 'after_no_leader', detail: 'the cluster had no leader' } },
    );
    expect(causeOf([unreachable(1_000), change])).toMatchObject({ kind: 'unreachable', eventIds: [expect.any(String), 'x:3'] });
  });

  it('says unknown when no event said why', () => {
    expect(causeOf([timeline(1_000)])).toMatchObject({ kind: 'unknown' });
  });
});
