import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../lab/processes.js';
import { PatroniClient } from '../../lambdas/adapters/patroni/PatroniClient.js';
import type { ClusterState } from '../../lambdas/domain/clusterState.js';
import type { ClusterEvent, EventType } from '../../lambdas/domain/events.js';
import type { EventStore } from '../../lambdas/domain/ports.js';
import { ClusterWatcher } from '../../lambdas/services/poller/ClusterWatcher.js';
import { runPollLoop } from '../../lambdas/services/poller/pollLoop.js';
import { FakeCluster } from '../support/fakeCluster.js';
import { capturedLog } from '../support/logCapture.js';
import { recordedBodies } from '../support/recorded.js';

// What the lab cannot produce on demand, served by loopback members from recorded Patroni 4.1.5 bodies: a lock
// holder whose PostgreSQL stays in recovery (patroni 3603, 2972, 3306), and members that stop reading the DCS.

const v4 = recordedBodies(4);
const log = capturedLog('readiness-stand-in', (m, e) => console.error('POLLER ERROR', m, JSON.stringify(e)));

describe('Readiness against loopback members serving recorded bodies', () => {
  let cluster: FakeCluster;
  const events: ClusterEvent[] = [];
  let abort: AbortController;
  let loop: Promise<unknown>;

  beforeEach(async () => {
    abort = new AbortController();
    cluster = new FakeCluster();
    // Short timings so that a loop_wait and ttl - loop_wait pass in seconds.
    cluster.config = { ttl: 8, loop_wait: 2, retry_timeout: 2, maximum_lag_on_failover: 1_048_576, failsafe_mode: false };
    await cluster.start();
    let state: ClusterState | null = null;
    const store: EventStore = {
      loadState: async () => state,
      commit: async (_v, next, recorded) => {
        state = next;
        events.push(...recorded);
      },
      listEvents: async () => ({ events }),
      listAllEvents: async () => events,
    };
    const watcher = new ClusterWatcher(
      { name: 'stand-in', members: cluster.urls },
      {},
      { observer: new PatroniClient(Date.now, { timeoutMs: 1_000 }), store, clock: Date.now, log },
      { settingsEveryMs: 1_000 },
    );
    loop = runPollLoop([watcher], { intervalMs: 500, deadline: Date.now() + 60_000, pollBudgetMs: 0, signal: abort.signal });
    await waitFor('the baseline', 10_000, 100, () => events.find((e) => e.type === 'watch_started'));
  });

  afterEach(async () => {
    abort.abort();
    await loop;
    await cluster.stop();
    events.length = 0;
  });

  const recorded = <T extends EventType>(type: T, withinMs = 20_000) =>
    waitFor(type, withinMs, 100, () => events.find((e): e is Extract<ClusterEvent, { type: T }> => e.type === type));

  it('a lock holder still in recovery after a loop_wait → promotion_stuck, naming its role', async () => {
    // pg_node2 takes the lock in /cluster; its own /patroni still says replica (in recovery).
    cluster.cues[1]!.patroni = (body) => ({ ...body, ...v4.patroni_replica_running, role: 'replica', patroni: body.patroni });
    cluster.leader = 1;
    cluster.cues[0]!.down = true;
    const stuck = await recorded('promotion_stuck');
    expect(stuck).toMatchObject({ member: 'pg_node2', role: 'replica', state: 'running', loopWaitSeconds: 2 });
    const change = events.find((e) => e.type === 'leader_changed');
    expect(stuck.since).toBeGreaterThanOrEqual(change?.observedAt ?? 0);
  });

  it("the leader's dcs_last_seen stops moving → leader_lock_at_risk; all members' → dcs_unreachable, which says the primary will demote itself", async () => {
    const frozen = Math.floor(Date.now() / 1000);
    cluster.cues[0]!.patroni = (body) => ({ ...body, dcs_last_seen: frozen });
    const atRisk = await recorded('leader_lock_at_risk');
    expect(atRisk).toMatchObject({ leader: 'pg_node1', thresholdMs: 6_000, failsafeMode: false });
    expect(atRisk.unrenewedForMs).toBeGreaterThan(6_000);
    for (const cue of cluster.cues) cue.patroni = (body) => ({ ...body, dcs_last_seen: frozen });
    const lost = await recorded('dcs_unreachable');
    expect(lost).toMatchObject({ members: ['pg_node1', 'pg_node2', 'pg_node3'], failsafeMode: false });
    for (const cue of cluster.cues) delete cue.patroni;
    await recorded('dcs_reachable');
  });
});
