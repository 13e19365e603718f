import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterState } from '../../domain/clusterState.js';
import { HEARTBEAT_MS } from '../../domain/coverage.js';
import { type Detection, detect, type IdentityExpectation } from '../../domain/detector.js';
import { messageOf, StateConflictError } from '../../domain/errors.js';
import type { ClusterEvent } from '../../domain/events.js';
import type { Observation } from '../../domain/model.js';
import type { Clock, ClusterObserver, ClusterTarget, EventStore, Log } from '../../domain/ports.js';
import type { ReadinessPolicy } from '../../domain/readiness.js';

export interface WatcherDeps {
  readonly observer: ClusterObserver;
  readonly store: EventStore;
  readonly clock: Clock;
  readonly log: Log;
}

export interface WatcherOptions {
  /** Write the state at least this often even when nothing changed: the "poller is alive" heartbeat. @default 60000 */
  readonly heartbeatMs?: number;
  /** Reload-and-retry rounds after another poller won the race for a version. @default 3 */
  readonly maxConflictRetries?: number;
  /**
   * Observations kept while the store cannot be written, oldest first: five minutes of 1 s polls. Past it the
   * oldest observation that changed nothing goes first, then the oldest change (and that loss is logged). @default 300
   */
  readonly maxBacklog?: number;
  /**
   * How long a poll waits for its changes to be recorded before it returns and leaves the recording to go on in
   * the background: a healthy store answers in milliseconds, a hung one must not stop the observing. Never past
   * the next poll's start either (`pollOnce`'s `recordBy`): polled every second, a 2 s wait for a store busy with
   * a fleet's commits made every cluster's next poll, the one that sees the new leader, late by as much. @default 2000
   */
  readonly recordWaitMs?: number;
  /**
   * A poll this long after the previous one records the time between as unwatched (`watch_gap`); after a
   * restart, when only the last heartbeat is known, the heartbeat interval is added. Unset: gaps are not recorded.
   */
  readonly unwatchedAfterMs?: number;
  /** How readiness findings are confirmed and what the cluster should have (detector option). */
  readonly readiness?: ReadinessPolicy;
  /** `/config` is read on the first poll and then at most this often. @default 30000 */
  readonly settingsEveryMs?: number;
}

/**
 * How long between polls is still watching: a few poll intervals, and at least 30 s, because a scheduled poller
 * Lambda leaves about ten seconds between the last poll of one invocation and the first of the next.
 */
export function unwatchedAfterMs(pollIntervalMs: number): number {
  return Math.max(4 * pollIntervalMs, 30_000);
}

export interface PollOutcome {
  /** Events recorded since the previous outcome, oldest first; a backlog's keep the times they were observed at. */
  readonly events: readonly ClusterEvent[];
  readonly wrote: boolean;
  readonly observedAt: number;
  /** Set while something could not be recorded yet; it is kept and recorded once the store answers. */
  readonly error?: string;
  /** Observations waiting for the store after this call. */
  readonly backlog?: number;
}

interface Kept {
  readonly observation: Observation;
  /** It changed the state when it was seen (else it only refines times, or is a heartbeat). */
  readonly changed: boolean;
  /** By the watcher's clock: how long the store has had it. */
  readonly keptAt: number;
}

/**
 * Polls one cluster and records what changed. Observing never waits long for the store: while the store cannot
 * be written, each observation is kept (in order, bounded) and recorded, with its original observation time, as
 * soon as the store answers again, so a member that went away and came back during a store outage still leaves
 * its trace. An observation is detected again against the recorded state when it is committed, so the store's
 * version check still makes a concurrent or retried poller harmless.
 */
export class ClusterWatcher {
  /** The state as the store has it, plus the in-memory advance of polls that changed nothing. */
  private recorded: ClusterState | null = null;
  /** `recorded` with every kept observation applied: what the next observation is compared with. */
  private seen: ClusterState | null = null;
  private readonly backlog: Kept[] = [];
  private loaded = false;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private settingsReadAt = Number.NEGATIVE_INFINITY;
  /** The recording under way, if any: one at a time, oldest observation first. */
  private recording: Promise<void> | null = null;
  /** Recorded since the last outcome was returned; the next outcome reports them. */
  private unreported: ClusterEvent[] = [];
  private wroteSinceReport = false;
  private lastError: string | null = null;
  private dropped = 0;
  private readonly heartbeatMs: number;
  private readonly maxConflictRetries: number;
  private readonly maxBacklog: number;
  private readonly recordWaitMs: number;
  /** The state as last loaded from the store: its `observedAt` is a heartbeat's, not the last poll's. */
  private loadedState: ClusterState | null = null;

  constructor(
    readonly target: ClusterTarget,
    private readonly expectation: IdentityExpectation,
    private readonly deps: WatcherDeps,
    private readonly options: WatcherOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.maxConflictRetries = options.maxConflictRetries ?? 3;
    this.maxBacklog = options.maxBacklog ?? 300;
    this.recordWaitMs = options.recordWaitMs ?? 2_000;
  }

  private detect(previous: ClusterState | null, observation: Observation): Detection {
    const allowance = this.options.unwatchedAfterMs;
    const fromStore = previous !== null && previous === this.loadedState;
    const unwatchedAfterMs = allowance === undefined ? undefined : allowance + (fromStore ? this.heartbeatMs : 0);
    return detect(previous, observation, this.expectation, {
      unwatchedAfterMs,
      ...(this.options.readiness && { readiness: this.options.readiness }),
    });
  }

  /** The settings are read on the first poll, and again once the last read is `settingsEveryMs` old. */
  private settingsDue(): boolean {
    return this.deps.clock() - this.settingsReadAt >= (this.options.settingsEveryMs ?? 30_000);
  }

  /**
   * One poll. It waits for its changes to be recorded for `recordWaitMs` at most, and not past `recordBy` (epoch ms:
   * the poll loop passes when this cluster's next poll is due, so a slow store never delays the next observation).
   */
  async pollOnce(recordBy = Number.POSITIVE_INFINITY): Promise<PollOutcome> {
    if (!this.loaded) {
      // Without the recorded state nothing can be compared: the first load must succeed before anything is kept.
      const failure = await this.reload().then(
        () => null,
        (error: unknown) => messageOf(error),
      );
      if (failure) return this.failedLoad(`loading the recorded state failed: ${failure}`);
    }
    const readSettings = this.settingsDue();
    const observation = await this.deps.observer.observe(this.target, { timeline: this.seen?.timeline ?? null, readSettings });
    if (observation.settings) this.settingsReadAt = observation.observedAt;
    const detection = this.detect(this.seen, observation);
    this.seen = detection.state;
    if (this.backlog.length === 0 && this.recording === null && !this.mustWrite(detection, observation)) {
      this.recorded = detection.state;
      return this.report(observation.observedAt);
    }
    this.keep({ observation, changed: detection.stateChanged, keptAt: this.deps.clock() });
    this.recording ??= this.recordBacklog().finally(() => {
      this.recording = null;
    });
    const waitMs = Math.min(this.recordWaitMs, recordBy - this.deps.clock());
    const recordedInTime = await this.settle(Math.max(0, waitMs));
    return this.report(observation.observedAt, !recordedInTime && waitMs >= this.recordWaitMs);
  }

  /** Waits at most `ms` for the recording under way (the end of a poll loop, a shutdown); true when nothing is left. */
  async settle(ms: number): Promise<boolean> {
    if (this.recording !== null) {
      const timer = new AbortController();
      await Promise.race([this.recording, sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined)]);
      timer.abort();
    }
    return this.recording === null && this.backlog.length === 0;
  }

  /** Observations never recorded: waiting for the store now, or dropped from a full backlog. */
  get unrecorded(): number {
    return this.backlog.length + this.dropped;
  }

  /** Events recorded since the last outcome (by a recording that finished after it), for the end of a loop. */
  takeRecorded(): ClusterEvent[] {
    const events = this.unreported;
    this.unreported = [];
    return events;
  }

  /** The state as recorded (or last seen in memory); null before the first successful load. */
  get current(): ClusterState | null {
    return this.seen;
  }

  private mustWrite(detection: Detection, observation: Observation): boolean {
    return detection.stateChanged || observation.observedAt - this.lastWriteAt >= this.heartbeatMs;
  }

  private keep(kept: Kept): void {
    this.backlog.push(kept);
    if (this.backlog.length <= this.maxBacklog) return;
    // The one being recorded stays; of the rest, an observation that changed nothing only refines times, while one
    // that changed something is an event lost.
    const unchanged = this.backlog.findIndex((k, i) => i > 0 && !k.changed);
    const [dropped] = this.backlog.splice(unchanged > 0 ? unchanged : 1, 1);
    if (dropped?.changed) {
      this.dropped++;
      this.deps.log.error('store unavailable for too long: the oldest kept change is dropped', {
        cluster: this.target.name,
        observedAt: new Date(dropped.observation.observedAt).toISOString(),
        kept: this.maxBacklog,
      });
    }
  }

  /** Records the backlog oldest first; stops at the first failure and keeps the rest for a later poll. */
  private async recordBacklog(): Promise<void> {
    try {
      while (this.backlog.length > 0) {
        const written = await this.record(this.backlog[0]!.observation);
        if (written) {
          this.unreported.push(...written);
          this.wroteSinceReport = true;
        }
        this.backlog.shift();
      }
      this.lastError = null;
      // Everything seen is recorded: what is compared next is exactly what the store has.
      this.seen = this.recorded;
    } catch (error) {
      this.lastError = messageOf(error);
    }
  }

  /** One observation detected against the recorded state and committed; null when it changed nothing to write. */
  private async record(observation: Observation): Promise<ClusterEvent[] | null> {
    for (let attempt = 0; ; attempt++) {
      const detection = this.detect(this.recorded, observation);
      if (!this.mustWrite(detection, observation)) {
        this.recorded = detection.state;
        return null;
      }
      const previousVersion = this.recorded?.version ?? 0;
      const next = detection.stateChanged ? detection.state : { ...detection.state, version: previousVersion + 1 };
      try {
        await this.deps.store.commit(previousVersion, next, detection.events);
      } catch (error) {
        if (!(error instanceof StateConflictError) || attempt >= this.maxConflictRetries) throw error;
        // Another poller recorded this cluster first: detect again against what it wrote.
        this.deps.log.info('state conflict, reloading', { cluster: this.target.name, version: previousVersion });
        await this.reload();
        continue;
      }
      this.recorded = next;
      this.lastWriteAt = observation.observedAt;
      return [...detection.events];
    }
  }

  /**
   * What was recorded since the last outcome, and whether anything still waits for the store: an error once a
   * store call failed or the store has had `recordWaitMs` (`waitedInVain`: this poll waited all of it), not when
   * the poll only stopped waiting because the next one is due.
   */
  private report(observedAt: number, waitedInVain = false): PollOutcome {
    const events = this.unreported;
    const wrote = this.wroteSinceReport;
    this.unreported = [];
    this.wroteSinceReport = false;
    const waiting = this.backlog.length;
    if (waiting === 0) return { events, wrote, observedAt, backlog: 0 };
    const stalled = waitedInVain || this.deps.clock() - this.backlog[0]!.keptAt >= this.recordWaitMs;
    if (this.lastError === null && !stalled) return { events, wrote, observedAt, backlog: waiting };
    const error = this.lastError ?? `the store has not answered within ${this.recordWaitMs} ms`;
    this.deps.log.error('poll not recorded yet; kept for the next poll', { cluster: this.target.name, error, backlog: waiting });
    return { events, wrote, observedAt, error, backlog: waiting };
  }

  private failedLoad(error: string): PollOutcome {
    this.deps.log.error('poll not recorded; the recorded state could not be loaded', { cluster: this.target.name, error });
    return { events: [], wrote: false, observedAt: this.deps.clock(), error, backlog: 0 };
  }

  private async reload(): Promise<void> {
    this.recorded = await this.deps.store.loadState(this.target.name);
    this.loadedState = this.recorded;
    this.seen = this.recorded;
    this.loaded = true;
  }
}
