import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ClusterState } from '../../../../lambdas/domain/clusterState.js';
import type { ClusterEvent } from '../../../../lambdas/domain/events.js';
import type { EventStore } from '../../../../lambdas/domain/ports.js';
import { ClusterWatcher, type PollOutcome } from '../../../../lambdas/services/poller/ClusterWatcher.js';
import {
  lateToleranceMs,
  type OverrunReport,
  overrunMessage,
  pollPhaseMs,
  runPollLoop,
} from '../../../../lambdas/services/poller/pollLoop.js';
import { failed, healthy, observation, primary, replica, view } from '../../../support/factories.js';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const failoverAt = (at: number) =>
  observation(at, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4));

/** A store whose commits of a leader change take `commitMs`, telling `onCommitted` when one has landed. */
class SlowStore implements EventStore {
  private state: ClusterState | null = null;
  constructor(
    private readonly commitMs: number,
    private readonly onCommitted: () => void,
  ) {}
  async loadState() {
    return this.state;
  }
  async commit(_previousVersion: number, state: ClusterState, events: readonly ClusterEvent[]) {
    if (events.some((e) => e.type === 'leader_changed')) await sleep(this.commitMs);
    this.state = state;
    this.onCommitted();
  }
  async listEvents() {
    return { events: [] };
  }
  async listAllEvents() {
    return [];
  }
}

/** A watcher whose polls take `pollMs` each, counting them. */
function fakeWatcher(name: string, pollMs: number): ClusterWatcher & { polls: number[] } {
  const polls: number[] = [];
  return {
    target: { name, members: [] },
    polls,
    async pollOnce(): Promise<PollOutcome> {
      polls.push(Date.now());
      await sleep(pollMs);
      return { events: [], wrote: false, observedAt: Date.now() };
    },
    settle: async () => true,
    takeRecorded: () => [],
    unrecorded: 0,
  } as unknown as ClusterWatcher & { polls: number[] };
}

describe('Function: runPollLoop', () => {
  it('polls each cluster on its own schedule: a cluster whose members time out does not delay the others', async () => {
    // Prepare: one healthy cluster, one whose every poll takes 600 ms (its members time out).
    const healthy = fakeWatcher('healthy', 5);
    const dead = fakeWatcher('dead', 600);
    // Act
    const summary = await runPollLoop([healthy, dead], { intervalMs: 100, deadline: Date.now() + 1_000, pollBudgetMs: 0 });
    // Assess: counts, not times: the healthy cluster kept its 100 ms rhythm while the dead one managed two polls.
    expect(dead.polls.length).toBeLessThanOrEqual(2);
    expect(healthy.polls.length).toBeGreaterThanOrEqual(6);
    expect(summary.polls).toBe(healthy.polls.length + dead.polls.length);
  });

  it('spreads the clusters evenly over the interval, each still polled once an interval', async () => {
    // The pure part: where in the interval each of four clusters polls.
    expect([0, 1, 2, 3].map((i) => pollPhaseMs(i, 4, 1_000))).toEqual([0, 250, 500, 750]);
    // Prepare: four clusters, a 400 ms interval.
    const watchers = ['a', 'b', 'c', 'd'].map((name) => fakeWatcher(name, 5));
    const started = Date.now();
    // Act
    await runPollLoop(watchers, { intervalMs: 400, deadline: started + 1_000, pollBudgetMs: 0 });
    // Assess: no first poll before its phase, the first polls in order of phase, and every cluster polled again.
    const firsts = watchers.map((w) => w.polls[0]! - started);
    for (const [i, first] of firsts.entries()) expect(first).toBeGreaterThanOrEqual(pollPhaseMs(i, 4, 400) - 2);
    expect([...firsts].sort((x, y) => x - y)).toEqual(firsts);
    for (const watcher of watchers) expect(watcher.polls.length).toBeGreaterThanOrEqual(2);
  });

  it('keeps polling at the interval while the store is slower than it, and reports each change as soon as it is recorded', async () => {
    // Prepare: a real watcher polled every 100 ms; the leader fails on the second poll, and its store takes 1 s to
    // commit that change.
    const trace: string[] = [];
    let polls = 0;
    const observer = {
      observe: async () => {
        trace.push('observed');
        polls++;
        return polls === 1 ? healthy(Date.now(), 'pg_node1', 3) : failoverAt(Date.now());
      },
      close: async () => undefined,
    };
    const store = new SlowStore(1_000, () => trace.push('committed'));
    const watcher = new ClusterWatcher({ name: 'denemek', members: [] }, {}, { observer, store, clock: Date.now, log: silent });
    // Act
    await runPollLoop([watcher], {
      intervalMs: 100,
      deadline: Date.now() + 1_500,
      pollBudgetMs: 0,
      onRecorded: (_cluster, events) => trace.push(...events.map((e) => `recorded ${e.type}`)),
    });
    // Assess: counts and order, not times. Waiting for the commit, the loop would have observed about six times;
    // the change was reported before the next observation after its commit.
    expect(trace.filter((step) => step === 'observed').length).toBeGreaterThanOrEqual(12);
    const landed = trace.indexOf('committed', trace.indexOf('committed') + 1);
    const nextObserved = trace.indexOf('observed', landed);
    expect(trace.slice(landed + 1, nextObserved)).toContain('recorded leader_changed');
    expect(trace.filter((step) => step === 'recorded leader_changed')).toHaveLength(1);
  });

  it('starts no poll that would not finish before the deadline', async () => {
    const watcher = fakeWatcher('c', 5);
    const deadline = Date.now() + 300;
    await runPollLoop([watcher], { intervalMs: 50, deadline, pollBudgetMs: 200 });
    expect(watcher.polls.every((t) => deadline - t > 200 - 5)).toBe(true);
  });

  it('stops when aborted', async () => {
    const watcher = fakeWatcher('c', 5);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 150);
    await runPollLoop([watcher], { intervalMs: 1_000, deadline: Date.now() + 60_000, pollBudgetMs: 0, signal: abort.signal });
    expect(watcher.polls).toHaveLength(1);
  });

  it('says when polls do not fit the interval: at the first overrun, then at most once per period, with the figures', async () => {
    // Prepare: one cluster's polls take 120 ms against a 50 ms interval; the other's fit.
    const slow = fakeWatcher('slow', 120);
    const fast = fakeWatcher('fast', 5);
    const reports: OverrunReport[] = [];
    // Act
    await runPollLoop([slow, fast], {
      intervalMs: 50,
      deadline: Date.now() + 800,
      pollBudgetMs: 0,
      overrunReportMs: 60_000,
      onOverrun: (report) => reports.push(report),
    });
    // Assess: one report in the period, naming the one cluster that overran.
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ intervalMs: 50, clustersOverrunning: 1, clusters: 2, overrunPolls: 1, latePolls: 0 });
    expect(overrunMessage(reports[0]!)).toMatch(
      /^1 of 2 clusters were not polled every 0\.1 s \(1 of \d+ polls took longer, the slowest 0\.1 s\): .*aws\.clustersPerPoller.*poll\.intervalSeconds/,
    );
  });

  it('says so when quick polls start late because the event loop is busy', async () => {
    // Prepare: polls of 1 ms every 50 ms, and something else on the event loop holding it for 300 ms at a time.
    const watcher = fakeWatcher('c', 1);
    const reports: OverrunReport[] = [];
    const hog = setInterval(() => {
      const until = Date.now() + 300;
      while (Date.now() < until);
    }, 350);
    // Act
    try {
      await runPollLoop([watcher], {
        intervalMs: 50,
        deadline: Date.now() + 1_500,
        pollBudgetMs: 0,
        onOverrun: (report) => reports.push(report),
      });
    } finally {
      clearInterval(hog);
    }
    // Assess: no poll took longer than the interval, yet the cluster was not polled every 50 ms.
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ clustersOverrunning: 1, overrunPolls: 0, latePolls: 1 });
    expect(reports[0]!.latestStartMs).toBeGreaterThan(lateToleranceMs(50));
    expect(overrunMessage(reports[0]!)).toMatch(
      /^1 of 1 clusters were not polled every 0\.1 s \(1 of \d+ started late, the latest by 0\.\d s\)/,
    );
  });

  it('says nothing while every poll fits the interval', async () => {
    const reports: OverrunReport[] = [];
    await runPollLoop([fakeWatcher('a', 5), fakeWatcher('b', 5)], {
      intervalMs: 100,
      deadline: Date.now() + 400,
      pollBudgetMs: 0,
      onOverrun: (report) => reports.push(report),
    });
    expect(reports).toEqual([]);
  });
});
