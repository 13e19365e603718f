import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../lambdas/domain/model.js';
import { DEFAULT_READINESS_POLICY } from '../../../lambdas/domain/readiness.js';
import { clusterStatus, renderStatus } from '../../../lambdas/domain/status.js';
import { failed, healthy, NAMES, observation, primary, replica, view, viewMember } from '../../support/factories.js';

const policy = DEFAULT_READINESS_POLICY;
const withSettings = (o: Observation): Observation => ({ ...o, settings: { ttl: 30, loopWait: 10, flat: {} } });

describe('failover status: one cluster now', () => {
  it('is ready with both replicas candidates', () => {
    const status = clusterStatus(withSettings(healthy(1_000, 'pg_node1', 3)), policy);
    expect(status).toMatchObject({
      verdict: 'ready',
      leader: 'pg_node1',
      timeline: 3,
      candidates: ['pg_node2', 'pg_node3'],
      healthyReplicas: 2,
      findings: [],
    });
  });

  it('is not ready when both replicas are tagged nofailover, and says why for each', () => {
    const tagged = observation(
      1_000,
      [
        primary('pg_node1', 3),
        replica('pg_node2', 3, { tags: { nofailover: true } }),
        replica('pg_node3', 3, { tags: { nofailover: true } }),
      ],
      view('pg_node1', 3),
    );
    const status = clusterStatus(withSettings(tagged), policy);
    expect(status.verdict).toBe('not ready');
    expect(status.findings).toEqual(['no failover candidate']);
    expect(status.excluded).toEqual([
      { member: 'pg_node2', reason: 'tagged nofailover' },
      { member: 'pg_node3', reason: 'tagged nofailover' },
    ]);
    const table = renderStatus([status], 'table');
    expect(table).toContain('NOT READY');
    expect(table).toContain('pg_node2: tagged nofailover');
  });

  it('is not ready with the replicas stopped: no candidate and too few replicas', () => {
    const stopped = observation(
      1_000,
      [primary('pg_node1', 3), replica('pg_node2', 3, { state: 'stopped' }), replica('pg_node3', 3, { state: 'stopped' })],
      {
        ...view('pg_node1', 3),
        members: [
          viewMember('pg_node1', 'leader', 3),
          viewMember('pg_node2', 'replica', null, 'stopped'),
          viewMember('pg_node3', 'replica', null, 'stopped'),
        ],
      },
    );
    expect(clusterStatus(stopped, policy).findings).toEqual(['no failover candidate', '0 healthy replica(s), fewer than 1']);
  });

  it('says unreachable, no leader and paused plainly', () => {
    expect(
      clusterStatus(
        observation(
          1_000,
          NAMES.map((n) => failed(n)),
          null,
        ),
        policy,
      ).verdict,
    ).toBe('unreachable');
    expect(clusterStatus(observation(1_000, [replica('pg_node2', 3)], view(null, 3)), policy).verdict).toBe('no leader');
    expect(clusterStatus(healthy(1_000, 'pg_node1', 3, true), policy).verdict).toBe('paused');
  });

  it('flags a leader that has not read the DCS for longer than ttl - loop_wait, and an unreadable /config', () => {
    const stale = observation(
      100_000,
      [primary('pg_node1', 3, { dcsLastSeen: 50 }), replica('pg_node2', 3), replica('pg_node3', 3)],
      view('pg_node1', 3),
    );
    const status = clusterStatus(stale, policy);
    expect(status.findings).toEqual(['leader last read the DCS 50 s ago (limit 20 s)']);
    expect(renderStatus([status], 'table')).toContain('/config unreadable: Patroni defaults assumed');
  });

  it('prints one JSON object per cluster', () => {
    const json = renderStatus([clusterStatus(healthy(1_000, 'pg_node1', 3), policy)], 'json');
    expect(JSON.parse(json.trim())).toMatchObject({ cluster: 'denemek', verdict: 'ready' });
  });
});
