import { describe, expect, it } from 'vitest';
import {
  parseClusterView,
  parseHaSettings,
  parseHistory,
  parseMemberReport,
  parseSettings,
} from '../../../../lambdas/adapters/patroni/parse.js';
import { PatroniReplyError } from '../../../../lambdas/domain/errors.js';
import { recordedBodies } from '../../../support/recorded.js';

/** Bodies recorded from real Patroni 3.0.2 and 4.1.5 labs through switchover, stop, kill, pause and crash. */
const v3 = recordedBodies(3);
const v4 = recordedBodies(4);
const URL = 'http://127.0.0.1:8008/patroni';

describe('Function: parseMemberReport', () => {
  it.each([
    [
      '3.0.2 leader',
      v3.patroni_master_running,
      { role: 'primary', rawRole: 'master', state: 'running', name: null, patroniVersion: '3.0.2' },
    ],
    [
      '4.x leader',
      v4.patroni_primary_running,
      { role: 'primary', rawRole: 'primary', state: 'running', name: 'pg_node1', patroniVersion: '4.1.5' },
    ],
    ['3.0.2 replica', v3.patroni_replica_running, { role: 'replica', state: 'running', replicationState: null }],
    ['4.x replica', v4.patroni_replica_running, { role: 'replica', state: 'running', replicationState: 'streaming' }],
    [
      '3.0.2 leader stopping for a switchover',
      v3.patroni_master_stopping_notl,
      { role: 'primary', state: 'stopping', timeline: null, walPosition: null },
    ],
    ['4.x leader stopping', v4.patroni_primary_stopping_notl, { role: 'primary', state: 'stopping', timeline: null }],
    ['3.0.2 demoted, stopped', v3.patroni_demoted_stopped_notl, { role: 'demoted', state: 'stopped', timeline: null }],
    [
      '4.x demoted while the lock is free',
      v4.patroni_demoted_stopping_unlocked_notl,
      { role: 'demoted', state: 'stopping', clusterUnlocked: true },
    ],
    ['3.0.2 replica during the race', v3.patroni_replica_running_unlocked, { role: 'replica', clusterUnlocked: true }],
    ['3.0.2 paused leader', v3.patroni_master_running_paused, { role: 'primary', paused: true }],
    ['4.x paused replica', v4.patroni_replica_running_paused, { role: 'replica', paused: true }],
    ['4.x crashed leader (PostgreSQL killed)', v4.patroni_primary_unknown_notl, { role: 'primary', state: 'unknown', timeline: null }],
    ['4.x replica starting', v4.patroni_replica_starting, { role: 'replica', state: 'starting' }],
  ])('normalises a recorded %s', (_label, body, expected) => {
    expect(body, 'fixture present').toBeDefined();
    expect(parseMemberReport(body, URL)).toMatchObject(expected);
  });

  it('reads the timeline and WAL position of a running leader and the received position of a replica', () => {
    const leader = parseMemberReport(v4.patroni_primary_running, URL);
    const replica = parseMemberReport(v4.patroni_replica_running, URL);
    expect(leader.timeline).toBeGreaterThanOrEqual(1);
    expect(leader.walPosition).toBeGreaterThan(0);
    expect(replica.walPosition).toBeGreaterThan(0);
    expect(leader.systemIdentifier).toMatch(/^\d+$/);
  });

  it('keeps an unknown role string as "unknown", with the raw value for the audit', () => {
    const report = parseMemberReport({ role: 'quantum_leader', state: 'levitating', patroni: { version: '9.0.0', scope: 's' } }, URL);
    expect(report).toMatchObject({ role: 'unknown', rawRole: 'quantum_leader', state: 'levitating' });
  });

  it('maps every documented internal role', () => {
    const roles = ['master', 'primary', 'replica', 'standby_leader', 'demoted', 'promoted', 'uninitialized'];
    expect(roles.map((role) => parseMemberReport({ role, state: 'running', patroni: {} }, URL).role)).toEqual([
      'primary',
      'primary',
      'replica',
      'standby_leader',
      'demoted',
      'primary',
      'uninitialized',
    ]);
  });

  it.each([
    ['an array', [1, 2], '(top level)'],
    ['a missing role', { state: 'running', patroni: {} }, 'role'],
    ['a string timeline', { role: 'master', state: 'running', timeline: 'five', patroni: {} }, 'timeline'],
    ['a missing patroni object', { role: 'master', state: 'running' }, 'patroni'],
    ['a non-numeric system identifier', { role: 'master', patroni: {}, database_system_identifier: 'abc' }, 'database_system_identifier'],
  ])('rejects %s with a message naming the field', (_label, body, field) => {
    expect(() => parseMemberReport(body, URL)).toThrow(PatroniReplyError);
    expect(() => parseMemberReport(body, URL)).toThrow(new RegExp(`wrong shape: ${field.replace(/[()]/g, '\\$&')}`));
  });
});

describe('Function: parseClusterView', () => {
  it('reads 3.0.2 members, with lag "unknown" as null and no scope key', () => {
    const view = parseClusterView(v3['cluster_leader-running+replica-running+replica-stopped'], URL);
    expect(view.scope).toBeNull();
    expect(view.members.map((m) => [m.name, m.role, m.state, m.lagBytes])).toEqual([
      ['pg_node1', 'replica', 'stopped', null],
      ['pg_node2', 'leader', 'running', null],
      ['pg_node3', 'replica', 'running', 400],
    ]);
  });

  it('reads 4.x members with streaming state and scope', () => {
    const view = parseClusterView(v4['cluster_leader-running+replica-streaming+replica-streaming'], URL);
    expect(view.scope).toBe('denemek');
    expect(view.members.filter((m) => m.state === 'streaming')).toHaveLength(2);
  });

  it('reads a leaderless view (the instant between a leader stepping down and the next taking the lock)', () => {
    const view = parseClusterView(v4['cluster_replica-running+replica-running+replica-stopping'], URL);
    expect(view.members.some((m) => m.role === 'leader')).toBe(false);
  });

  it('reads pause', () => {
    expect(parseClusterView(v3['cluster_leader-running+replica-running+replica-running_paused'], URL).paused).toBe(true);
  });

  it('rejects members that are not a list', () => {
    expect(() => parseClusterView({ members: 'pg_node1' }, URL)).toThrow(/wrong shape: members/);
  });
});

describe('Function: parseHistory', () => {
  it('reads recorded rows of both versions', () => {
    for (const body of [v3.history, v4.history]) {
      const rows = parseHistory(body, URL);
      expect(rows.length).toBeGreaterThanOrEqual(3);
      expect(rows[0]).toMatchObject({ endedTimeline: 1, reason: 'no recovery target specified' });
      expect(rows[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$/);
      expect(rows[0]!.newLeader).toMatch(/^pg_node\d$/);
    }
  });

  it('accepts the short rows written before Patroni 2.1.1 (no new leader) or by PostgreSQL alone', () => {
    expect(
      parseHistory(
        [
          [1, 100, 'no recovery target specified'],
          [2, 200, 'x', '2026-01-01T00:00:00+00:00'],
        ],
        URL,
      ),
    ).toEqual([
      { endedTimeline: 1, switchLsn: 100, reason: 'no recovery target specified', timestamp: null, newLeader: null },
      { endedTimeline: 2, switchLsn: 200, reason: 'x', timestamp: '2026-01-01T00:00:00+00:00', newLeader: null },
    ]);
  });

  it('accepts the empty history of a cluster still on timeline 1', () => {
    expect(parseHistory([], URL)).toEqual([]);
  });

  it('rejects a row whose timeline is not a number', () => {
    expect(() => parseHistory([['one', 1, 'x']], URL)).toThrow(/wrong shape: 0\.0/);
  });
});

describe('Untrusted strings in replies (issue 17, item 1)', () => {
  const FORGED = [
    ['a newline that forges a second line', 'pg_node9\n2026-11-26T04:00:00.000Z  denemek  leader_changed  leader pg_node1 → mallory'],
    ['terminal escapes', 'pg_node9\u001b[2K\u001b[31m'],
    ['Slack markup that pings everyone', '<!channel>'],
    ['a Slack link in disguise', '<http://evil.example/|open runbook>'],
  ] as const;

  it.each(FORGED)('refuses a /patroni member name with %s, naming the field and never echoing the value', (_what, name) => {
    const body = { ...v4.patroni_primary_running, patroni: { ...(v4.patroni_primary_running!.patroni as object), name } };
    const parse = () => parseMemberReport(body, URL);
    expect(parse).toThrow(PatroniReplyError);
    expect(parse).toThrow(/patroni\.name: must be a printable identifier/);
    expect(() => parse()).not.toThrow(name);
  });

  it.each(FORGED)('refuses a /cluster member name with %s', (_what, name) => {
    const view = v4['cluster_leader-running+replica-streaming+replica-streaming']!;
    const members = (view.members as Record<string, unknown>[]).map((m, i) => (i === 1 ? { ...m, name } : m));
    expect(() => parseClusterView({ ...view, members }, URL)).toThrow(/members\.1\.name: must be a printable identifier/);
  });

  it.each([
    ['state', { state: 'running\u001b[0m' }],
    ['role', { role: 'primary\n' }],
    ['scope', { patroni: { ...(v4.patroni_primary_running!.patroni as object), scope: 'denemek <!here>' } }],
  ])('refuses a forged %s in /patroni', (_field, patch) => {
    expect(() => parseMemberReport({ ...v4.patroni_primary_running, ...patch }, URL)).toThrow(PatroniReplyError);
  });

  it.each(['valueOf', 'constructor', 'toString', 'hasOwnProperty'])(
    'reads the role %s, a property every object has, as "unknown"',
    (role) => {
      const report = parseMemberReport({ ...v4.patroni_primary_running, role }, URL);
      expect(report).toMatchObject({ role: 'unknown', rawRole: role });
      const view = v4['cluster_leader-running+replica-streaming+replica-streaming']!;
      const members = (view.members as Record<string, unknown>[]).map((m, i) => (i === 1 ? { ...m, role } : m));
      expect(parseClusterView({ ...view, members }, URL).members[1]).toMatchObject({ role: 'unknown' });
    },
  );

  it('refuses the member name __proto__, the one key the recorded state cannot keep, and saying so', () => {
    const body = { ...v4.patroni_primary_running, patroni: { ...(v4.patroni_primary_running!.patroni as object), name: '__proto__' } };
    expect(() => parseMemberReport(body, URL)).toThrow(/patroni\.name: must not be __proto__/);
    const view = v4['cluster_leader-running+replica-streaming+replica-streaming']!;
    const members = (view.members as Record<string, unknown>[]).map((m, i) => (i === 1 ? { ...m, name: '__proto__' } : m));
    expect(() => parseClusterView({ ...view, members }, URL)).toThrow(/members\.1\.name: must not be __proto__/);
  });

  it("refuses a /history row whose new leader's name is forged, and makes Patroni's free-text reason inert", () => {
    expect(() => parseHistory([[1, 100, 'no recovery target specified', '2026-11-26T04:35:37+00:00', 'mallory\n']], URL)).toThrow(
      PatroniReplyError,
    );
    const [row] = parseHistory([[1, 100, 'reason\u001b[2K\nforged', '2026-11-26T04:35:37+00:00', 'pg_node2']], URL);
    expect(row!.reason).toBe('reason?[2K?forged');
  });
});

describe('Function: parseSettings', () => {
  it("reads the settings that shape a failover from /config, numbers or numeric strings, and Patroni 3's old key", () => {
    const body = {
      ttl: 30,
      loop_wait: '10',
      retry_timeout: 10,
      master_start_timeout: 300,
      maximum_lag_on_failover: 1048576,
      postgresql: {},
    };
    expect(parseSettings(body, 'http://10.0.0.4:8008/config')).toEqual({
      ttl: 30,
      loopWait: 10,
      retryTimeout: 10,
      primaryStartTimeout: 300,
      maximumLagOnFailover: 1_048_576,
    });
  });

  it('leaves out a key that is missing or not a number, so that what it cannot predict is said', () => {
    expect(parseSettings({ ttl: 'thirty', loop_wait: -1, retry_timeout: null }, 'u')).toEqual({});
  });

  it('refuses a body that is not an object, naming the endpoint', () => {
    expect(() => parseSettings([1, 2], 'http://10.0.0.4:8008/config')).toThrow(
      'http://10.0.0.4:8008/config sent a /config reply of the wrong shape: (top level): expected an object',
    );
  });
});

describe('What readiness reads (issue 18)', () => {
  it('reads tags, pending restart with its reasons, a scheduled restart, the server version and paused replay', () => {
    const body = {
      ...v4.patroni_replica_running,
      server_version: 160_004,
      xlog: { received_location: 90, replayed_location: 70, paused: true },
      tags: { nofailover: true, failover_priority: 0, clonefrom: 'pg_node1', nested: { no: 1 }, 'bad key': true, evil: 'a\u001b[31m' },
      pending_restart: true,
      pending_restart_reason: { max_connections: { old_value: '100', new_value: '200' } },
      scheduled_restart: { schedule: '2026-12-02T03:00:00+00:00', postmaster_start_time: 'x' },
    };
    expect(parseMemberReport(body, URL)).toMatchObject({
      serverVersion: 160_004,
      walPosition: 90,
      replayedPosition: 70,
      replayPaused: true,
      // A nested value, a key with a space and a string with an escape sequence are left out, not the whole reply.
      tags: { nofailover: true, failover_priority: 0, clonefrom: 'pg_node1' },
      pendingRestart: true,
      pendingRestartReasons: ['max_connections'],
      scheduledRestart: '2026-12-02T03:00:00+00:00',
    });
  });

  it('degrades on Patroni 3.0.2, which says no pending_restart_reason and no failover_priority', () => {
    const report = parseMemberReport({ ...v3.patroni_master_running, pending_restart: true }, URL);
    expect(report).toMatchObject({ pendingRestart: true, pendingRestartReasons: null, tags: {} });
  });

  it('reads /cluster member tags and a scheduled switchover', () => {
    const body = {
      ...v4['cluster_leader-running+replica-streaming+replica-streaming'],
      scheduled_switchover: { at: '2026-12-02T02:00:00+00:00', from: 'pg_node1', to: 'pg_node2' },
    };
    const members = ((body as Record<string, unknown>).members as Record<string, unknown>[]).map((m, i) =>
      i === 1 ? { ...m, tags: { nofailover: true } } : m,
    );
    const view = parseClusterView({ ...body, members }, URL);
    expect(view.scheduledSwitchover).toEqual({ at: '2026-12-02T02:00:00+00:00', from: 'pg_node1', to: 'pg_node2' });
    expect(view.members[1]?.tags).toEqual({ nofailover: true });
    expect(view.members[0]?.tags).toEqual({});
  });

  it('reads /config for readiness and flattens it for the audit with every credential replaced', () => {
    const settings = parseHaSettings(
      {
        ttl: 30,
        loop_wait: 10,
        maximum_lag_on_failover: 1_048_576,
        synchronous_mode: 'quorum',
        synchronous_mode_strict: true,
        failsafe_mode: false,
        postgresql: { parameters: { max_connections: 100 }, use_pg_rewind: true },
        standby_cluster: { primary_conninfo: 'host=x password=hunter2' },
        ssl_key_file: '/etc/ssl/private/key.pem',
        api_token: 'hunter2',
      },
      'http://127.0.0.1:8008/config',
    );
    expect(settings).toMatchObject({
      ttl: 30,
      loopWait: 10,
      maximumLagOnFailover: 1_048_576,
      synchronousMode: 'quorum',
      synchronousModeStrict: true,
      failsafeMode: false,
    });
    expect(settings.flat).toMatchObject({ 'postgresql.parameters.max_connections': '100', 'postgresql.use_pg_rewind': 'true' });
    expect(settings.flat['standby_cluster.primary_conninfo']).toBe('(secret)');
    expect(settings.flat.api_token).toBe('(secret)');
    expect(JSON.stringify(settings)).not.toContain('hunter2');
  });

  it('reads synchronous_mode true/false as on/off', () => {
    expect(parseHaSettings({ synchronous_mode: true }, URL).synchronousMode).toBe('on');
    expect(parseHaSettings({ synchronous_mode: false }, URL).synchronousMode).toBe('off');
    expect(parseHaSettings({}, URL).synchronousMode).toBeUndefined();
  });
});
