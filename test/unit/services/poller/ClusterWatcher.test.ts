import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ClusterState } from '../../../../lambdas/domain/clusterState.js';
import { StateConflictError, StoreError } from '../../../../lambdas/domain/errors.js';
import type { ClusterEvent } from '../../../../lambdas/domain/events.js';
import type { Observation } from '../../../../lambdas/domain/model.js';
import type { ClusterObserver, EventStore } from '../../../../lambdas/domain/ports.js';
import { ClusterWatcher } from '../../../../lambdas/services/poller/ClusterWatcher.js';
import { failed, healthy, observation, primary, replica, view } from '../../../support/factories.js';

/** An in-memory store with the real store's version check, and switches to make it fail. */
class MemoryStore implements EventStore {
  state: ClusterState | null = null;
  events: ClusterEvent[] = [];
  commits = 0;
  failNext: Error | null = null;
  private failing: (() => boolean) | null = null;
  /** Every commit fails while `when` says so, as a store that is down does. */
  failWhile(when: () => boolean): { end(): void } {
    this.failing = when;
    return { end: () => (this.failing = null) };
  }
  async loadState() {
    return this.state;
  }
  async commit(previousVersion: number, state: ClusterState, events: readonly ClusterEvent[]) {
    if (this.failing?.()) throw new StoreError('the store does not answer');
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    if ((this.state?.version ?? 0) !== previousVersion) throw new StateConflictError(state.cluster, previousVersion);
    this.state = state;
    this.events.push(...events);
    this.commits++;
  }
  async listEvents() {
    return { events: this.events };
  }
  async listAllEvents() {
    return this.events;
  }
}

function observer(sequence: Observation[]): ClusterObserver {
  return { observe: async () => sequence.shift()!, close: async () => undefined };
}

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const target = { name: 'denemek', members: [] };
const failover = (at: number) => observation(at, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4));

describe('Class: ClusterWatcher', () => {
  describe('Method: pollOnce', () => {
    it('writes nothing in steady state until the heartbeat is due', async () => {
      // Prepare
      const store = new MemoryStore();
      const polls = [
        healthy(0, 'pg_node1', 3),
        healthy(1_000, 'pg_node1', 3),
        healthy(30_000, 'pg_node1', 3),
        healthy(60_000, 'pg_node1', 3),
      ];
      const watcher = new ClusterWatcher(target, {}, { observer: observer(polls), store, clock: () => 0, log: silent });
      // Act
      const wrote = [];
      for (let i = 0; i < 4; i++) wrote.push((await watcher.pollOnce()).wrote);
      // Assess
      expect(wrote).toEqual([true, false, false, true]);
      expect(store.events.map((e) => e.type)).toEqual(['watch_started']);
      expect(store.state!.observedAt).toBe(60_000);
    });

    it('records a gap when polls stop for longer than the allowance, and allows a heartbeat more after a restart', async () => {
      // Prepare: polls every second, then nothing for 40 s; a second watcher starts from the store 80 s after
      // the last heartbeat (within heartbeat + allowance), and a third 100 s after it (past it).
      const store = new MemoryStore();
      const options = { unwatchedAfterMs: 30_000 };
      const polls = [healthy(0, 'pg_node1', 3), healthy(1_000, 'pg_node1', 3), healthy(41_000, 'pg_node1', 3)];
      const first = new ClusterWatcher(target, {}, { observer: observer(polls), store, clock: () => 0, log: silent }, options);
      for (let i = 0; i < 3; i++) await first.pollOnce();
      const restart = (at: number) =>
        new ClusterWatcher(
          target,
          {},
          { observer: observer([healthy(at, 'pg_node1', 3)]), store, clock: () => 0, log: silent },
          options,
        ).pollOnce();
      await restart(41_000 + 80_000);
      await restart(121_000 + 100_000);
      // Assess
      const gaps = store.events.filter((e) => e.type === 'watch_gap');
      expect(gaps.map((e) => [e.unwatchedFrom, e.unwatchedUntil])).toEqual([
        [1_000, 41_000],
        [121_000, 221_000],
      ]);
    });

    it('keeps what it saw when the store fails, and records it on the next good poll with its own observation time', async () => {
      // Prepare
      const store = new MemoryStore();
      const watcher = new ClusterWatcher(
        target,
        {},
        { observer: observer([healthy(0, 'pg_node1', 3), failover(1_000), failover(2_000)]), store, clock: () => 0, log: silent },
      );
      await watcher.pollOnce();
      // Act
      store.failNext = new StoreError('emulator unreachable');
      const failedPoll = await watcher.pollOnce();
      const nextPoll = await watcher.pollOnce();
      // Assess
      expect(failedPoll).toMatchObject({ wrote: false, error: 'emulator unreachable', events: [], backlog: 1 });
      expect(nextPoll.events.find((e) => e.type === 'leader_changed')).toMatchObject({
        from: 'pg_node1',
        to: 'pg_node2',
        previousObservedAt: 0,
        observedAt: 1_000,
      });
      expect(nextPoll.backlog).toBe(0);
      expect(store.events.filter((e) => e.type === 'leader_changed')).toHaveLength(1);
    });

    it('leaves a trace of a member that went away and came back while the store was down (issue 17, item 7)', async () => {
      // Prepare: the store refuses every write for three polls, during which pg_node2 is unreachable once.
      const store = new MemoryStore();
      const polls = [
        healthy(0, 'pg_node1', 3),
        healthy(1_000, 'pg_node1', 3),
        observation(2_000, [primary('pg_node1', 3), failed('pg_node2'), replica('pg_node3', 3)], view('pg_node1', 3)),
        healthy(3_000, 'pg_node1', 3),
        healthy(4_000, 'pg_node1', 3),
      ];
      const watcher = new ClusterWatcher(target, {}, { observer: observer(polls), store, clock: () => 0, log: silent });
      await watcher.pollOnce();
      const down = store.failWhile(() => true);
      // Act
      const duringOutage = [await watcher.pollOnce(), await watcher.pollOnce(), await watcher.pollOnce()];
      down.end();
      const afterOutage = await watcher.pollOnce();
      // Assess: the outage polls kept going and recorded nothing; then both changes, at the times they were seen.
      expect(duringOutage.map((o) => o.events.length)).toEqual([0, 0, 0]);
      expect(afterOutage.events.map((e) => [e.type, e.observedAt])).toEqual([
        ['member_unreachable', 2_000],
        ['member_reachable', 3_000],
      ]);
      expect(store.events.map((e) => e.type)).toEqual(['watch_started', 'member_unreachable', 'member_reachable']);
    });

    it('goes on polling while a store call hangs, and reports what the store took once it answers (issue 17, item 6)', async () => {
      // Prepare: after the baseline, the store holds every commit until released.
      const store = new MemoryStore();
      const polls = [healthy(0, 'pg_node1', 3), failover(1_000), failover(2_000), failover(3_000)];
      const watcher = new ClusterWatcher(
        target,
        {},
        { observer: observer(polls), store, clock: () => 0, log: silent },
        { recordWaitMs: 20 },
      );
      await watcher.pollOnce();
      let release: () => void = () => undefined;
      const commit = store.commit.bind(store);
      store.commit = (...args) => new Promise((resolve) => (release = () => resolve(commit(...args))));
      // Act
      const hung = [await watcher.pollOnce(), await watcher.pollOnce()];
      release();
      await watcher.settle(1_000);
      const after = await watcher.pollOnce();
      // Assess: both polls returned (observing went on), said why, and the change was recorded once, at 1 s.
      expect(hung.map((o) => [o.observedAt, o.backlog])).toEqual([
        [1_000, 1],
        [2_000, 2],
      ]);
      expect(hung[0]!.error).toContain('has not answered within 20 ms');
      expect(after.events.find((e) => e.type === 'leader_changed')).toMatchObject({ observedAt: 1_000 });
      expect(store.events.filter((e) => e.type === 'leader_changed')).toHaveLength(1);
    });

    it('stops waiting for a slow store when the next poll is due, and calls it an error only once the store has had recordWaitMs', async () => {
      // Prepare: after the baseline, every commit takes 150 ms; polls observe at the real time.
      const store = new MemoryStore();
      const at = () => Date.now();
      const polls = [healthy(at(), 'pg_node1', 3), failover(at()), failover(at()), failover(at())];
      const watcher = new ClusterWatcher(target, {}, { observer: observer(polls), store, clock: at, log: silent }, { recordWaitMs: 100 });
      await watcher.pollOnce();
      const commit = store.commit.bind(store);
      store.commit = async (...args) => {
        await sleep(150);
        return commit(...args);
      };
      // Act: the first poll's next one is due in 10 ms; the second comes once the store has had 100 ms.
      const dueSoon = await watcher.pollOnce(at() + 10);
      await sleep(100);
      const storeHadItsTime = await watcher.pollOnce(at() + 10);
      await watcher.settle(1_000);
      // Assess: the first returned with the change still under way and no error; the second said why.
      expect(dueSoon).toMatchObject({ backlog: 1, events: [] });
      expect(dueSoon.error).toBeUndefined();
      expect(storeHadItsTime.error).toContain('has not answered within 100 ms');
      expect(watcher.takeRecorded().filter((e) => e.type === 'leader_changed')).toHaveLength(1);
    });

    it('keeps at most maxBacklog observations, dropping the oldest and saying so', async () => {
      // Prepare
      const store = new MemoryStore();
      const errors: string[] = [];
      const log = { ...silent, error: (message: string) => errors.push(message) };
      const flapping = (at: number, up: boolean) =>
        observation(
          at,
          [primary('pg_node1', 3), up ? replica('pg_node2', 3) : failed('pg_node2'), replica('pg_node3', 3)],
          view('pg_node1', 3),
        );
      const polls = [
        healthy(0, 'pg_node1', 3),
        ...[1, 2, 3, 4, 5].map((i) => flapping(i * 1_000, i % 2 === 0)),
        healthy(6_000, 'pg_node1', 3),
      ];
      const watcher = new ClusterWatcher(target, {}, { observer: observer(polls), store, clock: () => 0, log }, { maxBacklog: 3 });
      await watcher.pollOnce();
      const down = store.failWhile(() => true);
      // Act
      for (let i = 0; i < 5; i++) await watcher.pollOnce();
      down.end();
      await watcher.pollOnce();
      // Assess: every outage poll changed something; past three kept, the oldest changes after the first were
      // dropped, each loudly. The first change and the last state were recorded at the times they were seen.
      expect(errors.filter((e) => e.includes('the oldest kept change is dropped'))).toHaveLength(3);
      expect(store.events.slice(1).map((e) => [e.type, e.observedAt])).toEqual([
        ['member_unreachable', 1_000],
        ['member_reachable', 6_000],
      ]);
    });

    it('reloads and detects again when another poller wrote first, so the change is recorded once', async () => {
      // Prepare: two watchers on one store, both start from the same baseline.
      const store = new MemoryStore();
      const a = new ClusterWatcher(
        target,
        {},
        { observer: observer([healthy(0, 'pg_node1', 3), failover(1_000)]), store, clock: () => 0, log: silent },
      );
      const b = new ClusterWatcher(target, {}, { observer: observer([failover(1_100)]), store, clock: () => 0, log: silent });
      await a.pollOnce();
      // Act
      await b.pollOnce();
      const late = await a.pollOnce();
      // Assess
      expect(store.events.filter((e) => e.type === 'leader_changed')).toHaveLength(1);
      expect(late.events.filter((e) => e.type === 'leader_changed')).toHaveLength(0);
      expect(new Set(store.events.map((e) => e.id)).size).toBe(store.events.length);
    });

    it('gives up after the retry budget when conflicts never end, without advancing its state', async () => {
      const store = new MemoryStore();
      const watcher = new ClusterWatcher(
        target,
        {},
        { observer: observer([healthy(0, 'pg_node1', 3)]), store, clock: () => 7, log: silent },
        { maxConflictRetries: 2 },
      );
      store.commit = async () => {
        throw new StateConflictError('denemek', 0);
      };
      const outcome = await watcher.pollOnce();
      expect(outcome.error).toContain('no longer at version 0');
      expect(watcher.current).toBeNull();
    });
  });
});
