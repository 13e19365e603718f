import { setMaxListeners } from 'node:events';
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
  /**
   * Polls took longer than the interval or started late (the round does not fit it, or the process is too busy to
   * start polls on time): called at the first and then at most once per `overrunReportMs`, with the figures since
   * the last report.
   */
  readonly onOverrun?: (report: OverrunReport) => void;
  /** @default 60000 */
  readonly overrunReportMs?: number;
}

/** Polls that did not fit the interval since the last report. */
export interface OverrunReport {
  readonly intervalMs: number;
  /** Clusters with at least one poll longer than the interval or started late. */
  readonly clustersOverrunning: number;
  readonly clusters: number;
  /** Polls longer than the interval. */
  readonly overrunPolls: number;
  readonly polls: number;
  readonly slowestPollMs: number;
  /** Polls that started later than they were due by more than `lateToleranceMs(intervalMs)`. */
  readonly latePolls: number;
  readonly latestStartMs: number;
}

/**
 * How late a poll may start before it counts: timers fire a little late on any busy machine, and only a delay that
 * is a real part of the interval leaves a change unseen for longer than the interval promises.
 */
export function lateToleranceMs(intervalMs: number): number {
  return Math.max(intervalMs / 10, 100);
}

/** One line for a person: the figures, and what to do about them. */
export function overrunMessage(report: OverrunReport): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const figures = [
    report.overrunPolls > 0 && `${report.overrunPolls} of ${report.polls} polls took longer, the slowest ${seconds(report.slowestPollMs)}`,
    report.latePolls > 0 && `${report.latePolls} of ${report.polls} started late, the latest by ${seconds(report.latestStartMs)}`,
  ].filter(Boolean);
  return (
    `${report.clustersOverrunning} of ${report.clusters} clusters were not polled every ${seconds(report.intervalMs)} ` +
    `(${figures.join('; ')}): changes are seen late. ` +
    'Shard the fleet (aws.clustersPerPoller on AWS, fewer clusters per `failover watch` locally), ' +
    'lower poll.timeoutMs if members time out, or raise poll.intervalSeconds.'
  );
}

/** Counts polls that overran the interval and reports them at most once per period. */
class OverrunWatch {
  private lastReportAt = Number.NEGATIVE_INFINITY;
  private window = OverrunWatch.emptyWindow();

  constructor(
    private readonly options: PollLoopOptions,
    private readonly clusters: number,
    private readonly clock: () => number,
  ) {}

  private static emptyWindow() {
    return { polls: 0, overrunPolls: 0, slowestPollMs: 0, latePolls: 0, latestStartMs: 0, clusters: new Set<string>() };
  }

  /** One poll: how long it took, and how much later than it was due it started. */
  record(cluster: string, poll: { durationMs: number; lateMs: number }): void {
    const w = this.window;
    w.polls++;
    const overran = poll.durationMs > this.options.intervalMs;
    const late = poll.lateMs > lateToleranceMs(this.options.intervalMs);
    if (!overran && !late) return;
    if (overran) {
      w.overrunPolls++;
      w.slowestPollMs = Math.max(w.slowestPollMs, poll.durationMs);
    }
    if (late) {
      w.latePolls++;
      w.latestStartMs = Math.max(w.latestStartMs, poll.lateMs);
    }
    w.clusters.add(cluster);
    const now = this.clock();
    if (!this.options.onOverrun || now - this.lastReportAt < (this.options.overrunReportMs ?? 60_000)) return;
    this.lastReportAt = now;
    this.options.onOverrun({
      intervalMs: this.options.intervalMs,
      clustersOverrunning: w.clusters.size,
      clusters: this.clusters,
      overrunPolls: w.overrunPolls,
      polls: w.polls,
      slowestPollMs: w.slowestPollMs,
      latePolls: w.latePolls,
      latestStartMs: w.latestStartMs,
    });
    this.window = OverrunWatch.emptyWindow();
  }
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
 * Where in the interval a cluster's polls fall: the clusters spread evenly over it, as Prometheus spreads its
 * scrapes. Started together, every cluster would poll in the same instant of each interval, so a round would be one
 * burst of every request, and a fleet-wide failover one burst of commits queued behind each other for the store (500
 * clusters failing over, polled every 5 s against the local emulator: p95 recorded 16 s in lockstep, 10 s spread).
 * Spread, each cluster is still polled once an interval.
 */
export function pollPhaseMs(index: number, clusters: number, intervalMs: number): number {
  return Math.floor((index * intervalMs) / clusters);
}

/**
 * Polls every cluster on its own schedule until the deadline. Each cluster has its own loop, so a slow or dead
 * cluster (timeouts of every member) never delays the others.
 */
export async function runPollLoop(watchers: readonly ClusterWatcher[], options: PollLoopOptions): Promise<PollLoopSummary> {
  const clock = options.clock ?? Date.now;
  const totals = { polls: 0, writes: 0, events: 0, failedPolls: 0 };
  const overruns = new OverrunWatch(options, watchers.length, clock);
  // Every cluster's loop waits on the one signal: Node warns past 10 listeners unless told how many to expect.
  if (options.signal) setMaxListeners(watchers.length + 10, options.signal);
  // Until `ms` has passed or the loop is stopped, whichever comes first.
  const pause = async (ms: number) => {
    if (ms > 0) await sleep(ms, undefined, { signal: options.signal }).catch(() => undefined);
  };
  const report = (watcher: ClusterWatcher, events: readonly ClusterEvent[]) => {
    totals.events += events.length;
    if (events.length > 0) options.onRecorded?.(watcher.target.name, events);
  };
  const count = (outcome: PollOutcome) => {
    totals.polls++;
    if (outcome.wrote) totals.writes++;
    if (outcome.error) totals.failedPolls++;
  };
  await Promise.all(
    watchers.map(async (watcher, index) => {
      await pause(pollPhaseMs(index, watchers.length, options.intervalMs));
      // When this cluster's next poll should start: a busy event loop starts it late even when every poll is quick.
      let dueAt: number | null = null;
      while (!options.signal?.aborted && options.deadline - clock() > options.pollBudgetMs) {
        const started = clock();
        const nextPollAt = Math.min(started + options.intervalMs, options.deadline - options.pollBudgetMs);
        const outcome = await watcher.pollOnce(nextPollAt);
        count(outcome);
        overruns.record(watcher.target.name, { durationMs: clock() - started, lateMs: dueAt === null ? 0 : started - dueAt });
        report(watcher, outcome.events);
        // A recording still under way when the poll returned is reported as soon as it lands, not at the next poll.
        if (outcome.backlog) {
          await watcher.settle(nextPollAt - clock());
          report(watcher, watcher.takeRecorded());
        }
        // A poll that took longer than the interval makes the next one start at once: counted as slow, not as late.
        dueAt = Math.max(nextPollAt, clock());
        await pause(nextPollAt - clock());
      }
    }),
  );
  // What a hung store still holds is given a last, bounded chance before the loop returns (and a Lambda freezes).
  const settleMs = Math.max(0, Math.min(options.settleMs ?? 5_000, options.deadline - clock()));
  const unrecorded = await Promise.all(
    watchers.map(async (watcher) => {
      await watcher.settle(settleMs);
      report(watcher, watcher.takeRecorded());
      return watcher.unrecorded;
    }),
  );
  return { ...totals, unrecorded: unrecorded.reduce((a, b) => a + b, 0) };
}
