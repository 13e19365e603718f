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
  async loadState() {
    return this.state;
  }
  async commit(previousVersion: number, state: ClusterState, events: readonly ClusterEvent[]) {
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

    it('keeps its state when the store fails, and records the transition on the next good poll', async () => {
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
      expect(failedPoll).toMatchObject({ wrote: false, error: 'emulator unreachable', events: [] });
      expect(nextPoll.events.find((e) => e.type === 'leader_changed')).toMatchObject({
        from: 'pg_node1',
        to: 'pg_node2',
        previousObservedAt: 0,
        observedAt: 2_000,
      });
      expect(store.events.filter((e) => e.type === 'leader_changed')).toHaveLength(1);
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
