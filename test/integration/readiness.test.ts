import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labRejoinAll, labStopMember } from '../../lab/faults.js';
import { labEditConfig, labScheduleSwitchover, labSetTags, labStallReplication } from '../../lab/haSettings.js';
import { labDown } from '../../lab/lab.js';
import { waitFor } from '../../lab/processes.js';
import { fastLabOptions, freshLab } from '../../lab/profiles.js';
import { runSql } from '../../lab/sql.js';
import { labStateExists } from '../../lab/state.js';
import { labStatus } from '../../lab/status.js';
import type { LabOptions, PatroniMajor } from '../../lab/topology.js';
import { PatroniClient } from '../../lambdas/adapters/patroni/PatroniClient.js';
import type { ClusterState } from '../../lambdas/domain/clusterState.js';
import type { ClusterEvent, EventType } from '../../lambdas/domain/events.js';
import type { EventStore } from '../../lambdas/domain/ports.js';
import { DEFAULT_READINESS_POLICY } from '../../lambdas/domain/readiness.js';
import type { ClusterStatus } from '../../lambdas/domain/status.js';
import { ClusterWatcher } from '../../lambdas/services/poller/ClusterWatcher.js';
import { runPollLoop } from '../../lambdas/services/poller/pollLoop.js';
import { readStatus } from '../../lambdas/services/status/readStatus.js';
import { capturedLog } from '../support/logCapture.js';

// Readiness on the real labs, Patroni 3.0.2 and 4.x side by side (each step runs on both at once): what an operator
// does to a cluster, and what the poller records and `failover status` says about it.

const log = capturedLog('readiness-lab', (m, e) => console.error('POLLER ERROR', m, JSON.stringify(e)));
/** Confirmed fast, but as the poller does it (two polls); lag must last 3 s; /config read every 2 s. */
const POLICY = { ...DEFAULT_READINESS_POLICY, lagAfterMs: 3_000 };

/** The audit trail kept in memory: the store is not what is shown here (the poller tests cover DynamoDB). */
class MemoryStore implements EventStore {
  state: ClusterState | null = null;
  readonly events: ClusterEvent[] = [];
  loadState = async () => this.state;
  commit = async (_version: number, next: ClusterState, events: readonly ClusterEvent[]) => {
    this.state = next;
    this.events.push(...events);
  };
  listEvents = async () => ({ events: this.events });
  listAllEvents = async () => this.events;
}

interface Lab {
  readonly patroni: PatroniMajor;
  readonly options: LabOptions;
  readonly port: number;
  readonly store: MemoryStore;
  readonly target: { name: string; members: string[] };
}

const LABS: Lab[] = [
  { patroni: 3 as PatroniMajor, basePort: 26000 },
  { patroni: 4 as PatroniMajor, basePort: 27000 },
].map(({ patroni, basePort }) => {
  const options = fastLabOptions(patroni, basePort);
  return {
    patroni,
    options,
    port: options.ports.haproxy,
    store: new MemoryStore(),
    target: { name: `lab${patroni}`, members: options.ports.restApi.map((p) => `http://127.0.0.1:${p}`) },
  };
});

const onBoth = (step: (lab: Lab) => Promise<void>) => Promise.all(LABS.map(step));

/** The first event of `type` recorded after `after` (ms) that `match` accepts, waited for up to `withinMs`. */
function recorded<T extends EventType>(
  lab: Lab,
  type: T,
  options: { after: number; withinMs?: number; match?: (e: Extract<ClusterEvent, { type: T }>) => boolean },
): Promise<Extract<ClusterEvent, { type: T }>> {
  return waitFor(`Patroni ${lab.patroni}: ${type}`, options.withinMs ?? 60_000, 250, () =>
    lab.store.events.find(
      (e): e is Extract<ClusterEvent, { type: T }> =>
        e.type === type && e.observedAt >= options.after && (options.match?.(e as never) ?? true),
    ),
  );
}

async function statusOf(lab: Lab): Promise<ClusterStatus> {
  const observer = new PatroniClient(Date.now, { timeoutMs: 2_000 });
  try {
    const [status] = await readStatus(observer, [{ target: lab.target, policy: POLICY }]);
    return status!;
  } finally {
    await observer.close();
  }
}

async function leaderOf(lab: Lab): Promise<{ leader: string; replicas: string[] }> {
  const status = await labStatus(lab.port);
  const leader = status.members.find((m) => m.role === 'leader')!.name;
  return { leader, replicas: status.members.map((m) => m.name).filter((n) => n !== leader) };
}

describe('Readiness on real Patroni 3 and 4 labs', () => {
  const abort = new AbortController();
  let loops: Promise<unknown>[] = [];

  beforeAll(async () => {
    await onBoth((lab) => freshLab(lab.options));
    loops = LABS.map((lab) => {
      const watcher = new ClusterWatcher(
        lab.target,
        { scope: 'denemek' },
        { observer: new PatroniClient(Date.now, { timeoutMs: 2_000 }), store: lab.store, clock: Date.now, log },
        { readiness: POLICY, settingsEveryMs: 2_000 },
      );
      return runPollLoop([watcher], { intervalMs: 1_000, deadline: Date.now() + 1_200_000, pollBudgetMs: 0, signal: abort.signal });
    });
    await onBoth(async (lab) => {
      await recorded(lab, 'watch_started', { after: 0, withinMs: 10_000 });
    });
  });

  afterAll(async () => {
    abort.abort();
    await Promise.all(loops);
    for (const lab of LABS) if (labStateExists(lab.port)) await labDown(lab.port);
  });

  it('says ready with both replicas as candidates on a healthy cluster, and records no readiness finding', async () => {
    await onBoth(async (lab) => {
      // Right after bootstrap Patroni's own /cluster can report a replica some MB behind for a few seconds; a healthy
      // cluster is one whose replicas have caught up (bounded wait).
      const status = await waitFor(`Patroni ${lab.patroni}: both replicas candidates`, 30_000, 1_000, async () => {
        const now = await statusOf(lab);
        return now.candidates.length === 2 ? now : undefined;
      }).catch(async () => statusOf(lab));
      expect(status, `Patroni ${lab.patroni}`).toMatchObject({ verdict: 'ready', healthyReplicas: 2, settingsKnown: true });
      expect(status.candidates, JSON.stringify(status.excluded)).toHaveLength(2);
      expect(lab.store.events.filter((e) => e.type === 'failover_readiness_lost')).toEqual([]);
    });
  });

  it('both replicas tagged nofailover (restarted with the tag) → failover_readiness_lost; status says why; untagged → restored', async () => {
    await onBoth(async (lab) => {
      const { replicas } = await leaderOf(lab);
      const started = Date.now();
      for (const replica of replicas) await labSetTags(lab.port, replica, { nofailover: true });
      const lost = await recorded(lab, 'failover_readiness_lost', { after: started });
      expect(lost.candidates).toEqual([]);
      // The second replica may still be restarting when the first poll finds no candidate.
      expect(lost.excluded.map((e) => e.member).sort()).toEqual([...replicas].sort());
      const tagsRecorded = lab.store.events.filter((e) => e.type === 'member_tags_changed' && e.observedAt >= started);
      expect(tagsRecorded.map((e) => (e.type === 'member_tags_changed' ? e.member : '')).sort()).toEqual([...replicas].sort());
      const status = await waitFor('status to show both tagged', 20_000, 500, async () => {
        const s = await statusOf(lab);
        return s.excluded.every((e) => e.reason === 'tagged nofailover') && s.excluded.length === 2 ? s : undefined;
      });
      expect(status).toMatchObject({ verdict: 'not ready', candidates: [], findings: ['no failover candidate'] });
      const untagged = Date.now();
      for (const replica of replicas) await labSetTags(lab.port, replica, null);
      const restored = await recorded(lab, 'failover_readiness_restored', { after: untagged });
      expect(restored.candidates.length).toBeGreaterThan(0);
    });
  });

  it('both replicas stopped → redundancy_lost; started again → redundancy_restored with how long it took', async () => {
    await onBoth(async (lab) => {
      const { replicas } = await leaderOf(lab);
      const started = Date.now();
      for (const replica of replicas) await labStopMember(lab.port, replica);
      const lost = await recorded(lab, 'redundancy_lost', { after: started });
      expect(lost).toMatchObject({ healthy: [], minimum: 1 });
      expect((await statusOf(lab)).findings).toContain('0 healthy replica(s), fewer than 1');
      await labRejoinAll(lab.port, replicas);
      const restored = await recorded(lab, 'redundancy_restored', { after: started, match: (e) => e.lostSince === lost.since });
      expect(restored.afterMs).toBeGreaterThan(0);
    });
  });

  it('edit-config maximum_lag_on_failover small and a replica that stops receiving WAL → config_changed, excluded for lag, replica_lagging', async () => {
    await onBoth(async (lab) => {
      const { leader, replicas } = await leaderOf(lab);
      const lagging = replicas[0]!;
      const started = Date.now();
      await labEditConfig(lab.port, { maximum_lag_on_failover: '100000' });
      const changed = await recorded(lab, 'config_changed', { after: started });
      expect(changed.changes).toContainEqual({ key: 'maximum_lag_on_failover', from: '1048576', to: '100000' });
      const resume = await labStallReplication(lab.port, lagging);
      try {
        // About 2 MB of WAL that the stalled replica does not receive.
        await runSql(lab.port, [
          'CREATE TABLE IF NOT EXISTS readiness_lag (filler text)',
          "INSERT INTO readiness_lag SELECT repeat('x', 1000) FROM generate_series(1, 2000)",
        ]);
        const lag = await recorded(lab, 'replica_lagging', { after: started, match: (e) => e.member === lagging });
        expect(lag).toMatchObject({ thresholdBytes: 100_000 });
        expect(lag.lagBytes).toBeGreaterThan(1_000_000);
        const status = await statusOf(lab);
        expect(status.excluded.find((e) => e.member === lagging)?.reason).toMatch(
          /^\d+\.\d MB behind \(maximum_lag_on_failover 0\.1 MB\)$/,
        );
        expect(status.candidates).not.toContain(lagging);
        expect(status.leader).toBe(leader);
      } finally {
        resume();
      }
      await recorded(lab, 'replica_caught_up', { after: started, match: (e) => e.member === lagging });
      await labEditConfig(lab.port, { maximum_lag_on_failover: '1048576' });
    });
  });

  it('a scheduled switchover is announced as planned, and the switchover that follows is marked as the scheduled one', async () => {
    await onBoth(async (lab) => {
      const { leader, replicas } = await leaderOf(lab);
      const started = Date.now();
      const at = new Date(Date.now() + 12_000);
      await labScheduleSwitchover(lab.port, leader, replicas[0]!, at);
      const announced = await recorded(lab, 'scheduled_action', { after: started });
      expect(announced).toMatchObject({ action: 'switchover', from: leader, to: replicas[0] });
      expect(Math.abs(Date.parse(announced.at) - at.getTime())).toBeLessThan(1_000);
      const change = await recorded(lab, 'leader_changed', { after: started, withinMs: 90_000 });
      expect(change).toMatchObject({ from: leader, to: replicas[0], kind: 'switchover', scheduledAt: announced.at });
      await waitFor('both replicas streaming again', 60_000, 500, async () =>
        (await statusOf(lab)).healthyReplicas === 2 ? true : undefined,
      );
    });
  });

  it('strict synchronous mode with its only synchronous standby stopped → sync_commit_stalled; started again → resumed', async () => {
    await onBoth(async (lab) => {
      const started = Date.now();
      await labEditConfig(lab.port, { synchronous_mode: 'true', synchronous_mode_strict: 'true' });
      const sync = await waitFor('a synchronous standby', 60_000, 500, async () => {
        const status = await labStatus(lab.port);
        return status.members.find((m) => m.role === 'sync_standby')?.name;
      });
      const { replicas } = await leaderOf(lab);
      const other = replicas.find((r) => r !== sync)!;
      // Only one replica left, and then not that one either: strict mode has no standby to acknowledge commits.
      await labStopMember(lab.port, other);
      await labStopMember(lab.port, sync);
      try {
        const stalled = await recorded(lab, 'sync_commit_stalled', { after: started });
        expect((await statusOf(lab)).findings).toContain('commits stalled: strict synchronous mode without a synchronous standby');
        await labRejoinAll(lab.port, [sync, other]);
        await recorded(lab, 'sync_commit_resumed', { after: started, match: (e) => e.since === stalled.since });
      } finally {
        // A primary waiting for a synchronous standby cannot shut down cleanly: the lab must not be left so.
        await labEditConfig(lab.port, { synchronous_mode: 'false', synchronous_mode_strict: 'false' });
      }
    });
  });
});
