import { describe, expect, it } from 'vitest';
import {
  causeLine,
  commonCause,
  EMPTY_FLEET_STATE,
  type FleetOpening,
  type FleetState,
  registerMemberStatus,
  registerOpening,
  roleOf,
  settleStorm,
  stormClusters,
} from '../../../lambdas/domain/storm.js';

const settings = { clusters: 3, windowMs: 60_000 };
const opening = (i: number, at: number, kind = 'leader_changed failover'): FleetOpening => ({
  cluster: `db-${i}`,
  incidentKey: `db-${i}:1`,
  at,
  kind,
});

/** Registers openings in order; the roles they got and the fleet after. */
function register(openings: readonly FleetOpening[], fleet: FleetState = EMPTY_FLEET_STATE) {
  const roles: string[] = [];
  let current = fleet;
  for (const o of openings) {
    const step = registerOpening(current, o, settings);
    roles.push(step.role);
    current = step.fleet;
  }
  return { roles, fleet: current };
}

describe('Function: registerOpening', () => {
  it.each([
    { name: 'fewer clusters than the threshold within the window page alone', at: [0, 10_000], roles: ['alone', 'alone'] },
    {
      name: 'the opening that reaches the threshold starts the storm; later ones join',
      at: [0, 10_000, 20_000, 30_000],
      roles: ['alone', 'alone', 'started', 'joined'],
    },
    { name: 'openings further apart than the window never make a storm', at: [0, 70_000, 140_000], roles: ['alone', 'alone', 'alone'] },
    { name: 'openings arriving out of order count both ways', at: [30_000, 0, 10_000], roles: ['alone', 'alone', 'started'] },
    {
      name: 'a member joins within the window of the latest join, not of the first',
      at: [0, 10_000, 20_000, 75_000, 130_000],
      roles: ['alone', 'alone', 'started', 'joined', 'joined'],
    },
    {
      name: 'after the window passes an opening pages alone, the storm still open',
      at: [0, 10_000, 20_000, 200_000],
      roles: ['alone', 'alone', 'started', 'alone'],
    },
  ])('$name', ({ at, roles }) => {
    expect(register(at.map((t, i) => opening(i, t))).roles).toEqual(roles);
  });

  it('counts a cluster once however many incidents it opens, and lists the members that paged before it', () => {
    const { roles, fleet } = register([
      opening(1, 0),
      { ...opening(1, 5_000), incidentKey: 'db-1:2' },
      opening(2, 6_000),
      opening(3, 7_000),
    ]);
    expect(roles).toEqual(['alone', 'alone', 'alone', 'started']);
    expect(fleet.storm!.members.map((m) => [m.incidentKey, m.pagedAlone])).toEqual([
      ['db-1:2', true],
      ['db-2:1', true],
      ['db-3:1', false],
    ]);
    expect(fleet.storm!.key).toBe(`storm:${new Date(5_000).toISOString()}`);
  });

  it('is idempotent: an opening registered again keeps its role and changes nothing', () => {
    const openings = [opening(1, 0), opening(2, 1_000), opening(3, 2_000), opening(4, 3_000)];
    const { roles, fleet } = register(openings);
    expect(roles).toEqual(['alone', 'alone', 'started', 'joined']);
    // The first two paged alone and are grouped now; the third made the storm.
    expect(openings.map((o) => registerOpening(fleet, o, settings).role)).toEqual(['joined', 'joined', 'started', 'joined']);
    for (const o of openings) expect(registerOpening(fleet, o, settings).fleet).toBe(fleet);
    expect(roleOf(fleet, 'db-9:1')).toBeNull();
  });
});

describe('Function: registerMemberStatus', () => {
  it('resolves the storm with its last member once the window has passed, counting members resolved before it was recognised', () => {
    let { fleet } = register([opening(1, 0)]);
    fleet = registerMemberStatus(fleet, { incidentKey: 'db-1:1', status: 'resolved', at: 1_000 }, settings).fleet;
    fleet = register([opening(2, 2_000), opening(3, 3_000)], fleet).fleet;
    expect(fleet.storm!.members.map((m) => m.status)).toEqual(['resolved', 'open', 'open']);
    const first = registerMemberStatus(fleet, { incidentKey: 'db-2:1', status: 'resolved', at: 70_000 }, settings);
    expect(first.resolved).toBeNull();
    const last = registerMemberStatus(first.fleet, { incidentKey: 'db-3:1', status: 'resolved', at: 90_000 }, settings);
    expect(last.resolved).toMatchObject({ status: 'resolved', resolvedAt: 90_000 });
    expect(last.fleet.storm).toBeNull();
    // A late redelivery still finds the storm its incident belonged to.
    expect(roleOf(last.fleet, 'db-3:1')?.storm?.key).toBe(last.resolved!.key);
  });

  it('keeps a storm whose members all resolved within its window open for late joiners, and ends it at the first event after', () => {
    let { fleet } = register([opening(1, 0), opening(2, 1_000), opening(3, 2_000)]);
    for (const i of [1, 2, 3]) {
      const moved = registerMemberStatus(fleet, { incidentKey: `db-${i}:1`, status: 'resolved', at: 5_000 + i }, settings);
      expect(moved.resolved).toBeNull();
      fleet = moved.fleet;
    }
    // A fourth cluster fails within the window: it joins the storm, which is still open.
    const joined = registerOpening(fleet, opening(4, 30_000), settings);
    expect(joined.role).toBe('joined');
    fleet = registerMemberStatus(joined.fleet, { incidentKey: 'db-4:1', status: 'resolved', at: 31_000 }, settings).fleet;
    expect(settleStorm(fleet, 89_999, settings).resolved).toBeNull();
    expect(settleStorm(fleet, 90_000, settings).resolved).toMatchObject({ status: 'resolved', resolvedAt: 90_000 });
  });

  it('leaves the fleet as it was for an incident it never saw', () => {
    const { fleet } = register([opening(1, 0)]);
    expect(registerMemberStatus(fleet, { incidentKey: 'other:1', status: 'resolved', at: 1 }, settings).fleet).toBe(fleet);
  });
});

describe('Function: commonCause', () => {
  it('names the tag values at least half the members share, and the failure kinds by count', () => {
    const { fleet } = register([opening(1, 0), opening(2, 1_000, 'no_leader'), opening(3, 2_000), opening(4, 3_000)]);
    const tags: Record<string, Record<string, string>> = {
      'db-1': { az: 'eu-west-1a', host: 'hv-1' },
      'db-2': { az: 'eu-west-1a', host: 'hv-2' },
      'db-3': { az: 'eu-west-1a', host: 'hv-3' },
      'db-4': { az: 'eu-west-1b' },
    };
    const cause = commonCause(fleet.storm!, (c) => tags[c] ?? {});
    expect(cause.tags).toEqual([{ key: 'az', value: 'eu-west-1a', clusters: 3 }]);
    expect(cause.kinds).toEqual([
      { kind: 'leader_changed failover', clusters: 3 },
      { kind: 'no_leader', clusters: 1 },
    ]);
    expect(causeLine(fleet.storm!, cause)).toBe('3 of 4 in az=eu-west-1a; leader_changed failover 3, no_leader 1');
  });

  it('counts clusters, not incidents: a cluster that fails over twice within the storm is one cluster', () => {
    const { fleet } = register([
      opening(1, 0),
      opening(2, 1_000),
      opening(3, 2_000),
      { ...opening(1, 30_000, 'no_leader'), incidentKey: 'db-1:2' },
    ]);
    expect(fleet.storm!.members).toHaveLength(4);
    const cause = commonCause(fleet.storm!, (c) => (c === 'db-3' ? { az: 'eu-west-1b' } : { az: 'eu-west-1a' }));
    expect(cause.tags).toEqual([{ key: 'az', value: 'eu-west-1a', clusters: 2 }]);
    expect(causeLine(fleet.storm!, cause)).toBe('2 of 3 in az=eu-west-1a; leader_changed failover 3, no_leader 1');
    // The cluster is resolved once both its incidents are.
    const first = registerMemberStatus(fleet, { incidentKey: 'db-1:1', status: 'resolved', at: 31_000 }, settings).fleet;
    expect(stormClusters(first.storm!).find((c) => c.cluster === 'db-1')).toEqual({
      cluster: 'db-1',
      status: 'open',
      kinds: ['leader_changed failover', 'no_leader'],
    });
    const both = registerMemberStatus(first, { incidentKey: 'db-1:2', status: 'resolved', at: 32_000 }, settings).fleet;
    expect(stormClusters(both.storm!).find((c) => c.cluster === 'db-1')?.status).toBe('resolved');
  });
});
