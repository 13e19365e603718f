import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterEvent } from '../../domain/events.js';
import type { ClusterWatcher, PollOutcome } from './ClusterWatcher.js';

export interface PollLoopOptions {
  /** Time between the starts of two polls of one cluster. */
  readonly intervalMs: number;
  /** Epoch ms by which the loop must have returned (Lambda: its deadline less a margin). */
  readonly deadline: number;
  /** A poll is not started unless this much time is left: one Patroni timeout plus the store write. */
  readonly pollBudgetMs: number;
  readonly clock?: () => number;
  /** Stops the loop early (Ctrl-C in `failover watch`). */
  readonly signal?: AbortSignal;
  /** Called with each cluster's recorded events, in order, as soon as they are committed. */
  readonly onRecorded?: (cluster: string, events: readonly ClusterEvent[]) => void;
  /** At the end, how long to wait for recordings still under way. @default 5000 */
  readonly settleMs?: number;
}

export interface PollLoopSummary {
  readonly polls: number;
  readonly writes: number;
  readonly events: number;
  /** Polls whose changes were not recorded yet when they returned (the store was down or slow). */
  readonly failedPolls: number;
  /** Observations that were never recorded: still waiting when the loop ended, or dropped from a full backlog. */
  readonly unrecorded: number;
}

/**
 * Polls every cluster on its own schedule until the deadline. Each cluster has its own loop, so a slow or dead
 * cluster (timeouts of every member) never delays the others.
 */
export async function runPollLoop(watchers: readonly ClusterWatcher[], options: PollLoopOptions): Promise<PollLoopSummary> {
  const clock = options.clock ?? Date.now;
  const totals = { polls: 0, writes: 0, events: 0, failedPolls: 0 };
  const count = (outcome: PollOutcome) => {
    totals.polls++;
    if (outcome.wrote) totals.writes++;
    if (outcome.error) totals.failedPolls++;
    totals.events += outcome.events.length;
  };
  await Promise.all(
    watchers.map(async (watcher) => {
      while (!options.signal?.aborted && options.deadline - clock() > options.pollBudgetMs) {
        const started = clock();
        const outcome = await watcher.pollOnce();
        count(outcome);
        if (outcome.events.length > 0) options.onRecorded?.(watcher.target.name, outcome.events);
        const wait = Math.min(started + options.intervalMs, options.deadline - options.pollBudgetMs) - clock();
        if (wait > 0) await sleep(wait, undefined, { signal: options.signal }).catch(() => undefined);
      }
    }),
  );
  // What a hung store still holds is given a last, bounded chance before the loop returns (and a Lambda freezes).
  const settleMs = Math.max(0, Math.min(options.settleMs ?? 5_000, options.deadline - clock()));
  const unrecorded = await Promise.all(
    watchers.map(async (watcher) => {
      await watcher.settle(settleMs);
      const late = watcher.takeRecorded();
      totals.events += late.length;
      if (late.length > 0) options.onRecorded?.(watcher.target.name, late);
      return watcher.unrecorded;
    }),
  );
  return { ...totals, unrecorded: unrecorded.reduce((a, b) => a + b, 0) };
}
