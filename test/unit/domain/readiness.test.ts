import { describe, expect, it } from 'vitest';
import type { ClusterState } from '../../../lambdas/domain/clusterState.js';
import { detect } from '../../../lambdas/domain/detector.js';
import type { ClusterEvent } from '../../../lambdas/domain/events.js';
import type { ClusterView, ClusterViewMember, HaSettings, MemberReport, Observation } from '../../../lambdas/domain/model.js';
import {
  assessReadiness,
  DEFAULT_READINESS_POLICY,
  type ReadinessMemory,
  type ReadinessPoll,
  trackReadiness,
} from '../../../lambdas/domain/readiness.js';
import { healthy, NAMES, type Name, observation, primary, replica, report, view, viewMember } from '../../support/factories.js';

/** A 3-member cluster: pg_node1 leader on timeline 3 at WAL 10 MB, the others streaming, as readiness sees it. */
function cluster(
  changes: {
    member?: Partial<Record<Name, Partial<ClusterViewMember>>>;
    report?: Partial<Record<Name, Partial<MemberReport> | null>>;
    view?: Partial<ClusterView>;
  } = {},
) {
  const members = NAMES.map((n) => ({
    ...viewMember(n, n === 'pg_node1' ? 'leader' : 'replica', 3, n === 'pg_node1' ? 'running' : 'streaming'),
    ...changes.member?.[n],
  }));
  const reports = new Map<string, MemberReport>();
  for (const n of NAMES) {
    const extra = changes.report?.[n];
    if (extra === null) continue;
    const base = n === 'pg_node1' ? { role: 'primary' as const, walPosition: 10_485_760 } : { replayedPosition: 10_485_760 };
    reports.set(n, report({ name: n, timeline: 3, ...base, ...extra }));
  }
  return {
    view: { scope: 'denemek', paused: false, members, scheduledSwitchover: null, ...changes.view },
    reports,
    leader: 'pg_node1',
    timeline: 3,
  };
}

const settings = (values: Partial<HaSettings> = {}): HaSettings => ({
  ttl: 30,
  loopWait: 10,
  flat: { ttl: '30', loop_wait: '10' },
  ...values,
});

describe('assessReadiness: which replicas Patroni would promote now', () => {
  it('names both replicas candidates on a healthy cluster', () => {
    const result = assessReadiness({ ...cluster(), settings: settings() });
    expect(result.candidates).toEqual(['pg_node2', 'pg_node3']);
    expect(result.excluded).toEqual([]);
    expect(result.healthyReplicas).toEqual(['pg_node2', 'pg_node3']);
  });

  it.each([
    ['row 1: Patroni does not answer', { report: { pg_node2: null } }, 'its Patroni does not answer'],
    ['row 2: nofailover in /patroni', { report: { pg_node2: { tags: { nofailover: true } } } }, 'tagged nofailover'],
    ['row 2: nofailover in /cluster only', { member: { pg_node2: { tags: { nofailover: true } } } }, 'tagged nofailover'],
    ['row 2: failover_priority 0 (3.2+)', { report: { pg_node2: { tags: { failover_priority: 0 } } } }, 'failover_priority 0'],
    ['row 3: PostgreSQL stopped', { member: { pg_node2: { state: 'stopped', timeline: null } } }, 'PostgreSQL stopped'],
    ['row 4: another timeline', { member: { pg_node2: { timeline: 2 } } }, 'on timeline 2, the leader on 3'],
    ['row 6: lag over the limit', { member: { pg_node2: { lagBytes: 2_097_152 } } }, '2.0 MB behind (maximum_lag_on_failover 1.0 MB)'],
    [
      'row 6: replay paused and behind',
      { report: { pg_node2: { replayedPosition: 5_242_880, replayPaused: true } } },
      '5.0 MB behind (maximum_lag_on_failover 1.0 MB), replay paused',
    ],
  ] as const)('%s', (_row, changes, reason) => {
    const result = assessReadiness({ ...cluster(changes), settings: settings() });
    expect(result.excluded).toEqual([{ member: 'pg_node2', reason }]);
    expect(result.candidates).toEqual(['pg_node3']);
  });

  it('row 5: with synchronous_mode on, only the synchronous standby is a candidate', () => {
    const input = cluster({ member: { pg_node3: { role: 'sync_standby' } } });
    const result = assessReadiness({ ...input, settings: settings({ synchronousMode: 'on' }) });
    expect(result.candidates).toEqual(['pg_node3']);
    expect(result.excluded).toEqual([{ member: 'pg_node2', reason: 'not a synchronous standby (synchronous_mode on)' }]);
    expect(result.syncStandbys).toEqual(['pg_node3']);
  });

  it('uses the lag limit from /config, and Patroni 1 MB default when /config says none', () => {
    const lagging = cluster({ member: { pg_node2: { lagBytes: 600_000 } } });
    expect(assessReadiness({ ...lagging, settings: null }).candidates).toEqual(['pg_node2', 'pg_node3']);
    expect(assessReadiness({ ...lagging, settings: settings({ maximumLagOnFailover: 500_000 }) }).candidates).toEqual(['pg_node3']);
  });

  it('finds commits stalled in strict synchronous mode with no synchronous standby streaming', () => {
    const strict = settings({ synchronousMode: 'on', synchronousModeStrict: true });
    expect(assessReadiness({ ...cluster(), settings: strict }).commitsStalled).toBe(true);
    const withStandby = cluster({ member: { pg_node2: { role: 'sync_standby' } } });
    expect(assessReadiness({ ...withStandby, settings: strict }).commitsStalled).toBe(false);
    expect(assessReadiness({ ...cluster(), settings: settings({ synchronousMode: 'on' }) }).commitsStalled).toBe(false);
  });

  it('sees a lock holder still in recovery, never a crashed primary, as a promotion not done', () => {
    const inRecovery = cluster({ report: { pg_node1: { role: 'replica', replicationState: 'streaming' } } });
    expect(assessReadiness({ ...inRecovery, settings: null }).leaderNotPrimary).toEqual({ role: 'replica', state: 'running' });
    const crashed = cluster({ report: { pg_node1: { state: 'crashed' } } });
    expect(assessReadiness({ ...crashed, settings: null }).leaderNotPrimary).toBeNull();
  });
});

/** Polls `trackReadiness` at the given times with the same cluster facts, returning every draft and the last memory. */
function track(
  polls: readonly { at: number; facts?: ReturnType<typeof cluster>; fresh?: HaSettings | null; promotedAt?: number | null }[],
  start: ReadinessMemory | null = null,
  policy = DEFAULT_READINESS_POLICY,
) {
  let memory = start;
  const drafts = [];
  for (const p of polls) {
    const poll: ReadinessPoll = {
      ...(p.facts ?? cluster()),
      freshSettings: p.fresh,
      now: p.at,
      promotedAt: p.promotedAt ?? null,
      leaderChanged: false,
      redundancyRestored: false,
      paused: false,
    };
    const outcome = trackReadiness(memory, poll, policy);
    memory = outcome.memory;
    drafts.push(...outcome.drafts);
  }
  return { drafts, memory: memory! };
}

const tagged = cluster({ report: { pg_node2: { tags: { nofailover: true } }, pg_node3: { tags: { nofailover: true } } } });

describe('trackReadiness: debounced conditions', () => {
  it('row 1: no candidate over two polls and 2 s → failover_readiness_lost with every exclusion; a candidate back → restored', () => {
    const { drafts } = track([
      { at: 0 },
      { at: 1_000, facts: tagged },
      { at: 2_000, facts: tagged },
      { at: 3_000, facts: tagged },
      { at: 4_000, facts: tagged },
      { at: 5_000 },
    ]);
    expect(drafts.filter((d) => d.type.startsWith('failover_readiness'))).toEqual([
      {
        type: 'failover_readiness_lost',
        level: 'warning',
        leader: 'pg_node1',
        candidates: [],
        excluded: [
          { member: 'pg_node2', reason: 'tagged nofailover' },
          { member: 'pg_node3', reason: 'tagged nofailover' },
        ],
        since: 1_000,
      },
      { type: 'failover_readiness_restored', leader: 'pg_node1', candidates: ['pg_node2', 'pg_node3'], since: 1_000, afterMs: 4_000 },
    ]);
  });

  it('row 1: a single poll without candidates records nothing, nor does one inside the settle time after a promotion', () => {
    const readinessOnly = (drafts: readonly { type: string }[]) => drafts.filter((d) => d.type.startsWith('failover_readiness'));
    expect(readinessOnly(track([{ at: 0, facts: tagged }, { at: 1_000 }]).drafts)).toEqual([]);
    const settling = track([
      { at: 0, facts: tagged, promotedAt: 0 },
      { at: 30_000, facts: tagged, promotedAt: 0 },
    ]);
    expect(settling.drafts).toEqual([]);
  });

  it('row 2: still no candidate after criticalAfterMs → recorded again as critical, once', () => {
    const polls = [0, 3_000, 300_000, 301_000, 400_000].map((at) => ({ at, facts: tagged }));
    const levels = track(polls).drafts.map((d) => (d.type === 'failover_readiness_lost' ? d.level : d.type));
    expect(levels).toEqual(['warning', 'critical']);
  });

  it('row 3: the lock holder still a replica for a loop_wait → promotion_stuck, once', () => {
    const stuck = cluster({ report: { pg_node1: { role: 'replica' } } });
    const polls = [0, 5_000, 10_000, 15_000].map((at) => ({ at, facts: stuck, fresh: at === 0 ? settings() : undefined }));
    const drafts = track(polls).drafts.filter((d) => d.type === 'promotion_stuck');
    expect(drafts).toEqual([
      { type: 'promotion_stuck', member: 'pg_node1', role: 'replica', state: 'running', since: 0, loopWaitSeconds: 10 },
    ]);
  });

  it('row 4: the leader has not read the DCS for more than ttl - loop_wait by our clock → leader_lock_at_risk; renewed → recorded', () => {
    // The replicas' values move every poll (they read the DCS); the leader's stays at 100 from 0 s to 29 s.
    const polls = [0, 10_000, 21_000, 24_000, 30_000].map((at) => ({ at }));
    const others = (at: number) =>
      cluster({
        report: { pg_node1: { dcsLastSeen: at < 30_000 ? 100 : 130 }, pg_node2: { dcsLastSeen: at }, pg_node3: { dcsLastSeen: at + 1 } },
      });
    const { drafts } = track(polls.map((p) => ({ ...p, facts: others(p.at) })));
    expect(drafts).toEqual([
      { type: 'leader_lock_at_risk', leader: 'pg_node1', unrenewedForMs: 24_000, thresholdMs: 20_000, failsafeMode: false, since: 21_000 },
      { type: 'leader_lock_renewed', leader: 'pg_node1', since: 21_000, afterMs: 9_000 },
    ]);
  });

  it('row 5: every member stale → dcs_unreachable (not a lock warning), saying whether failsafe mode keeps the primary', () => {
    const frozen = cluster({ report: { pg_node1: { dcsLastSeen: 1 }, pg_node2: { dcsLastSeen: 2 }, pg_node3: { dcsLastSeen: 3 } } });
    const { drafts } = track(
      [0, 21_000, 24_000].map((at) => ({ at, facts: frozen, fresh: at === 0 ? settings({ failsafeMode: true }) : undefined })),
    );
    expect(drafts).toEqual([
      { type: 'dcs_unreachable', members: ['pg_node1', 'pg_node2', 'pg_node3'], unrenewedForMs: 24_000, failsafeMode: true, since: 21_000 },
    ]);
  });

  it('a member whose clock is hours off raises nothing while its dcs_last_seen keeps moving', () => {
    const skewed = (at: number) => cluster({ report: { pg_node1: { dcsLastSeen: 1_000 + at / 1000 } } });
    expect(track([0, 10_000, 20_000, 30_000, 40_000].map((at) => ({ at, facts: skewed(at) }))).drafts).toEqual([]);
  });

  it('row 6: strict synchronous mode without a synchronous standby → sync_commit_stalled; one back → resumed', () => {
    const strict = settings({ synchronousMode: 'on', synchronousModeStrict: true });
    const syncBack = cluster({ member: { pg_node2: { role: 'sync_standby' } } });
    const { drafts } = track([{ at: 0, fresh: strict }, { at: 3_000 }, { at: 4_000, facts: syncBack }]);
    // Without a synchronous standby there is no candidate either: readiness is lost and restored alongside.
    const sync = drafts.filter((d) => d.type.startsWith('sync_commit'));
    expect(sync.map((d) => d.type)).toEqual(['sync_commit_stalled', 'sync_commit_resumed']);
    expect(sync[1]).toMatchObject({ syncStandbys: ['pg_node2'], since: 0, afterMs: 4_000 });
  });

  it('row 7: both replicas stopped → redundancy_lost; streaming again → redundancy_restored with the time it took', () => {
    const stopped = cluster({ member: { pg_node2: { state: 'stopped', timeline: null }, pg_node3: { state: 'stopped', timeline: null } } });
    const { drafts } = track([{ at: 0, facts: stopped }, { at: 2_000, facts: stopped }, { at: 10_000 }]);
    expect(drafts.filter((d) => d.type.startsWith('redundancy'))).toEqual([
      {
        type: 'redundancy_lost',
        leader: 'pg_node1',
        timeline: 3,
        healthy: [],
        minimum: 1,
        excluded: [
          { member: 'pg_node2', reason: 'PostgreSQL stopped' },
          { member: 'pg_node3', reason: 'PostgreSQL stopped' },
        ],
        since: 0,
      },
      { type: 'redundancy_restored', leader: 'pg_node1', timeline: 3, replicas: ['pg_node2', 'pg_node3'], afterMs: 10_000, lostSince: 0 },
    ]);
  });

  it('row 8: lag above the threshold for lagAfterMs → replica_lagging; below again → replica_caught_up', () => {
    const lagging = cluster({ member: { pg_node3: { lagBytes: 8_000_000 } } });
    const policy = { ...DEFAULT_READINESS_POLICY, lagBytes: 4_000_000 };
    const polls = [{ at: 0, facts: lagging }, { at: 20_000, facts: lagging }, { at: 31_000, facts: lagging }, { at: 40_000 }];
    const { drafts } = track(polls, null, policy);
    const lag = drafts.filter((d) => d.type === 'replica_lagging' || d.type === 'replica_caught_up');
    expect(lag).toEqual([
      { type: 'replica_lagging', member: 'pg_node3', lagBytes: 8_000_000, thresholdBytes: 4_000_000, replayPaused: false, since: 0 },
      { type: 'replica_caught_up', member: 'pg_node3', lagBytes: 0, since: 0, afterMs: 40_000 },
    ]);
  });

  it('keeps a /cluster listing hundreds of strangers to one readable event and out of the remembered lag', () => {
    const strangers = Array.from({ length: 200 }, (_, i) => ({
      ...viewMember('pg_node2', 'replica', 3, 'stopped'),
      name: `stranger${i}`,
      lagBytes: 9e9,
    }));
    const base = cluster({ member: { pg_node2: { state: 'stopped' }, pg_node3: { state: 'stopped' } } });
    const facts = { ...base, view: { ...base.view, members: [...base.view.members, ...strangers] } };
    const { drafts, memory } = track([0, 3_000, 40_000].map((at) => ({ at, facts })));
    const lost = drafts.find((d) => d.type === 'failover_readiness_lost');
    expect(lost?.type === 'failover_readiness_lost' && lost.excluded).toHaveLength(20);
    expect(Object.keys(memory.lagging)).toEqual([]);
  });

  it('judges nothing in maintenance mode: Patroni fails over nothing then', () => {
    const poll = (at: number): ReadinessPoll => ({
      ...tagged,
      freshSettings: undefined,
      now: at,
      promotedAt: null,
      leaderChanged: false,
      redundancyRestored: false,
      paused: true,
    });
    const first = trackReadiness(null, poll(0));
    expect(trackReadiness(first.memory, poll(10_000)).drafts).toEqual([]);
  });
});

describe('trackReadiness: the audit of the HA settings', () => {
  it('records the /config keys that changed (not pause, which has its own events), never on the first read, and never a secret value', () => {
    const before = settings({
      flat: { ttl: '30', 'postgresql.parameters.max_connections': '100', 'standby_cluster.primary_conninfo': '(secret)' },
    });
    const after = settings({
      flat: {
        ttl: '30',
        'postgresql.parameters.max_connections': '200',
        'postgresql.parameters.wal_level': '"logical"',
        'standby_cluster.primary_conninfo': '(secret)',
      },
    });
    const { drafts } = track([{ at: 0, fresh: before }, { at: 1_000 }, { at: 2_000, fresh: after }]);
    expect(drafts).toEqual([
      {
        type: 'config_changed',
        changes: [
          { key: 'postgresql.parameters.max_connections', from: '100', to: '200' },
          { key: 'postgresql.parameters.wal_level', from: null, to: '"logical"' },
        ],
      },
    ]);
  });

  it('records a member tag change, pending_restart on and off with its reasons, and a version change', () => {
    const changed = cluster({
      report: {
        pg_node2: { tags: { nofailover: true } },
        pg_node3: { pendingRestart: true, pendingRestartReasons: ['max_connections'], patroniVersion: '4.1.6' },
      },
    });
    const { drafts } = track([{ at: 0 }, { at: 1_000, facts: changed }, { at: 2_000 }]);
    expect(drafts.filter((d) => !d.type.startsWith('failover') && !d.type.startsWith('redundancy'))).toEqual([
      { type: 'member_tags_changed', member: 'pg_node2', from: {}, to: { nofailover: true } },
      { type: 'pending_restart_changed', member: 'pg_node3', pending: true, reasons: ['max_connections'] },
      { type: 'version_changed', member: 'pg_node3', component: 'patroni', from: '4.1.5', to: '4.1.6' },
      { type: 'member_tags_changed', member: 'pg_node2', from: { nofailover: true }, to: {} },
      { type: 'pending_restart_changed', member: 'pg_node3', pending: false, reasons: null },
      { type: 'version_changed', member: 'pg_node3', component: 'patroni', from: '4.1.6', to: '4.1.5' },
    ]);
  });

  it('announces a scheduled restart once', () => {
    const scheduled = cluster({ report: { pg_node2: { scheduledRestart: '2026-12-02T03:00:00+00:00' } } });
    const { drafts } = track([{ at: 0 }, { at: 1_000, facts: scheduled }, { at: 2_000, facts: scheduled }]);
    expect(drafts).toEqual([
      { type: 'scheduled_action', action: 'restart', at: '2026-12-02T03:00:00+00:00', member: 'pg_node2', from: null, to: null },
    ]);
  });
});

/** Runs observations through the detector, as the poller does. */
function detectAll(observations: readonly Observation[]): { events: ClusterEvent[]; state: ClusterState } {
  let state: ClusterState | null = null;
  const events: ClusterEvent[] = [];
  for (const o of observations) {
    const result = detect(state, o);
    state = result.state;
    events.push(...result.events);
  }
  return { events, state: state! };
}

describe('readiness in the detector', () => {
  it('announces a scheduled switchover and marks the switchover that follows as the scheduled one', () => {
    const at = '2026-12-02T02:00:00+00:00';
    const scheduledView: ClusterView = { ...view('pg_node1', 3), scheduledSwitchover: { at, from: 'pg_node1', to: 'pg_node2' } };
    const withSchedule = observation(2_000, healthy(2_000, 'pg_node1', 3).members, scheduledView);
    const switchedOver = observation(
      4_000,
      [
        replica('pg_node1', 3, { role: 'demoted', rawRole: 'demoted', state: 'stopped', timeline: null }),
        primary('pg_node2', 3),
        replica('pg_node3', 3),
      ],
      view('pg_node2', 3),
    );
    const { events } = detectAll([healthy(0, 'pg_node1', 3), healthy(1_000, 'pg_node1', 3), withSchedule, switchedOver]);
    expect(events.find((e) => e.type === 'scheduled_action')).toMatchObject({ action: 'switchover', at, from: 'pg_node1', to: 'pg_node2' });
    expect(events.find((e) => e.type === 'leader_changed')).toMatchObject({ kind: 'switchover', scheduledAt: at });
  });

  it('does not write the state for a dcs_last_seen that moved, only for what readiness must remember', () => {
    const first = detectAll([healthy(0, 'pg_node1', 3), healthy(1_000, 'pg_node1', 3)]).state;
    const moved = healthy(2_000, 'pg_node1', 3);
    const later = {
      ...moved,
      members: moved.members.map((m) => (m.status === 'ok' ? { ...m, report: { ...m.report, dcsLastSeen: 1_795_660_010 } } : m)),
    };
    expect(detect(first, later).stateChanged).toBe(false);
  });
});
