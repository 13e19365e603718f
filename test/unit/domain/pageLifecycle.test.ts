import { describe, expect, it } from 'vitest';
import type { AnyPayload, ClusterEvent } from '../../../lambdas/domain/events.js';
import { advanceIncident, type PageAction, type PageIncident } from '../../../lambdas/domain/pageLifecycle.js';
import { leaderChangedEvent, makeTestEvent } from '../../support/factories.js';

const outage = { startedAfter: 0, startedBefore: 1, endedAfter: 2, endedBefore: 3, downtimeMinMs: 1_500, downtimeMaxMs: 3_000 };
const verified = (incident: string): AnyPayload => ({
  type: 'write_verified',
  trigger: { id: incident, type: 'member_unreachable' },
  incident,
  restoredAt: new Date(9_000).toISOString(),
  attempts: 60,
  errors: {},
  servedBy: { address: '10.0.0.5', port: 5432, timeline: 2 },
  outage,
});
const unavailable = (incident: string): AnyPayload => ({
  type: 'write_unavailable',
  trigger: { id: incident, type: 'member_unreachable' },
  incident,
  attempts: 600,
  errors: { timeout: 600 },
  lastError: 'timeout',
  deadlineSeconds: 90,
  outage,
});
const leaderLost: AnyPayload = {
  type: 'member_unreachable',
  member: 'pg_node1',
  url: 'http://10.0.0.1:8008',
  status: 'unreachable',
  error: 'refused',
  wasLeader: true,
};
const failover = () =>
  leaderChangedEvent({ id: 'denemek:0000000900:000', cluster: 'denemek', observedAt: 3_000, previousObservedAt: 2_000 });
const switchover = () =>
  leaderChangedEvent(
    { id: 'denemek:0000000901:000', cluster: 'denemek', observedAt: 3_000, previousObservedAt: 2_000 },
    { kind: 'switchover' },
  );

/** Runs events through the lifecycle from no incident; `awaiting` says whether a probe verdict is pending before each. */
function run(steps: readonly (ClusterEvent | ((key: string) => ClusterEvent))[], awaiting: (i: number) => boolean = () => false) {
  let incident: PageIncident | null = null;
  const actions: (PageAction | null)[] = [];
  steps.forEach((step, i) => {
    const event = typeof step === 'function' ? step(incident?.key ?? 'none') : step;
    const next = advanceIncident(incident, event, { awaitingVerdict: awaiting(i), incidentKey: incident?.key ?? event.id });
    incident = next.incident;
    actions.push(next.action);
  });
  return { actions, incident: incident as PageIncident | null };
}

describe('Function: advanceIncident (the page lifecycle)', () => {
  it('failover with a probe: opens on the leader lost, updates on the new leader, resolves on writes verified', () => {
    const { actions, incident } = run(
      [makeTestEvent(leaderLost, 1_000), failover(), (key) => makeTestEvent(verified(key), 9_500)],
      (i) => i < 2,
    );
    expect(actions).toEqual(['open', 'update', 'resolve']);
    expect(incident).toMatchObject({ status: 'resolved', paged: true, planned: false, leader: { from: 'pg_node1', to: 'pg_node2' } });
    expect(incident!.outage).toEqual({ minMs: 1_500, maxMs: 3_000 });
  });

  it('keeps the incident open while the verdict is pending, whatever recovers meanwhile', () => {
    const { actions } = run(
      [makeTestEvent(leaderLost, 1_000), makeTestEvent({ type: 'member_reachable', member: 'pg_node1', url: 'u' }, 2_000)],
      () => true,
    );
    expect(actions).toEqual(['open', 'update']);
  });

  it('a planned switchover is a change, resolved (not paged) when writes are verified', () => {
    const { actions, incident } = run([switchover(), (key) => makeTestEvent(verified(key), 9_500)], () => true);
    expect(actions).toEqual(['change', 'resolve']);
    expect(incident).toMatchObject({ planned: true, paged: false, status: 'resolved' });
  });

  it('a planned switchover whose writes never come back becomes a critical page', () => {
    const { actions, incident } = run([switchover(), (key) => makeTestEvent(unavailable(key), 95_000)], () => true);
    expect(actions).toEqual(['change', 'open']);
    expect(incident).toMatchObject({ status: 'escalated', severity: 'critical', paged: true });
  });

  it('escalates a paged incident at the probe deadline, and resolves it when writes come back later', () => {
    const { actions, incident } = run(
      [makeTestEvent(leaderLost, 1_000), (key) => makeTestEvent(unavailable(key), 91_000), (key) => makeTestEvent(verified(key), 120_000)],
      () => true,
    );
    expect(actions).toEqual(['open', 'escalate', 'resolve']);
    expect(incident!.status).toBe('resolved');
  });

  it('does not resolve while no member holds the lock or two primaries run, even with writes verified', () => {
    const noLeader = run([
      makeTestEvent({ type: 'no_leader', lastLeader: 'pg_node1', since: 500 }, 1_000),
      (key) => makeTestEvent(verified(key), 9_000),
    ]);
    expect(noLeader.actions).toEqual(['open', 'update']);
    const restored = advanceIncident(
      noLeader.incident,
      makeTestEvent({ type: 'leader_restored', leader: 'pg_node1', leaderlessSince: 500 }, 10_000),
      {
        awaitingVerdict: false,
        incidentKey: 'x',
      },
    );
    expect(restored.action).toBe('resolve');
    const split = run([
      makeTestEvent({ type: 'split_brain', members: ['pg_node1', 'pg_node2'] }, 1_000),
      (key) => makeTestEvent(verified(key), 9_000),
      makeTestEvent({ type: 'split_brain_resolved', members: ['pg_node1', 'pg_node2'] }, 12_000),
    ]);
    expect(split.actions).toEqual(['open', 'update', 'resolve']);
  });

  it('without a probe, resolves on the first recovery', () => {
    const replicaLost: AnyPayload = { ...leaderLost, member: 'pg_node3', wasLeader: false } as AnyPayload;
    const { actions } = run([
      makeTestEvent(replicaLost, 1_000),
      makeTestEvent({ type: 'member_reachable', member: 'pg_node3', url: 'u' }, 5_000),
    ]);
    expect(actions).toEqual(['open', 'resolve']);
  });

  it('pages one-shot warnings without tracking them, announces maintenance mode, ignores lone recoveries and audit-only events', () => {
    const mismatch = makeTestEvent(
      {
        type: 'identity_mismatch',
        member: 'pg_node3',
        field: 'system_identifier',
        expected: '1',
        actual: '2',
        rebootstrapped: false,
      } as AnyPayload,
      1_000,
    );
    expect(run([mismatch])).toEqual({ actions: ['open'], incident: null });
    expect(run([makeTestEvent({ type: 'cluster_paused' }, 1_000)]).actions).toEqual(['change']);
    expect(run([makeTestEvent({ type: 'cluster_reachable' }, 1_000)]).actions).toEqual([null]);
    const timeline = makeTestEvent({ type: 'timeline_changed', from: 1, to: 2, leader: 'pg_node2', missedPromotions: 0 }, 2_000);
    expect(run([makeTestEvent(leaderLost, 1_000), timeline], () => true).actions).toEqual(['open', null]);
  });

  it('takes a late verdict as the story of the incident it names: a late write_unavailable pages again', () => {
    const first = run([makeTestEvent(leaderLost, 1_000), failover()]);
    expect(first.actions).toEqual(['open', 'resolve']);
    const late = advanceIncident(first.incident, makeTestEvent(unavailable(first.incident!.key), 91_000), {
      awaitingVerdict: false,
      incidentKey: 'y',
    });
    expect(late.action).toBe('open');
    expect(late.incident).toMatchObject({ key: first.incident!.key, status: 'escalated', severity: 'critical' });
  });
});
