import type { ClusterState } from '../../domain/clusterState.js';
import { detect, type IdentityExpectation } from '../../domain/detector.js';
import { messageOf, StateConflictError } from '../../domain/errors.js';
import type { ClusterEvent } from '../../domain/events.js';
import type { Clock, ClusterObserver, ClusterTarget, EventStore, Log } from '../../domain/ports.js';

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
}

export interface PollOutcome {
  readonly events: readonly ClusterEvent[];
  readonly wrote: boolean;
  readonly observedAt: number;
  /** Set when the poll could not be recorded; the state was not advanced, so the next poll records it. */
  readonly error?: string;
}

/**
 * Polls one cluster and records what changed. Holds the last recorded state in memory between polls of one
 * invocation; the store's version check makes a concurrent or retried poller harmless.
 */
export class ClusterWatcher {
  private state: ClusterState | null = null;
  private loaded = false;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private readonly heartbeatMs: number;
  private readonly maxConflictRetries: number;

  constructor(
    readonly target: ClusterTarget,
    private readonly expectation: IdentityExpectation,
    private readonly deps: WatcherDeps,
    options: WatcherOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 60_000;
    this.maxConflictRetries = options.maxConflictRetries ?? 3;
  }

  async pollOnce(): Promise<PollOutcome> {
    try {
      if (!this.loaded) await this.reload();
      const observation = await this.deps.observer.observe(this.target, this.state && { timeline: this.state.timeline });
      for (let attempt = 0; ; attempt++) {
        const detection = detect(this.state, observation, this.expectation);
        const heartbeatDue = observation.observedAt - this.lastWriteAt >= this.heartbeatMs;
        if (!detection.stateChanged && !heartbeatDue) {
          this.state = detection.state;
          return { events: [], wrote: false, observedAt: observation.observedAt };
        }
        const previousVersion = this.state?.version ?? 0;
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
        this.state = next;
        this.lastWriteAt = observation.observedAt;
        return { events: detection.events, wrote: true, observedAt: observation.observedAt };
      }
    } catch (error) {
      const message = messageOf(error);
      this.deps.log.error('poll not recorded; state kept for the next poll', { cluster: this.target.name, error: message });
      return { events: [], wrote: false, observedAt: this.deps.clock(), error: message };
    }
  }

  /** The state as recorded (or last seen in memory); null before the first successful load. */
  get current(): ClusterState | null {
    return this.state;
  }

  private async reload(): Promise<void> {
    this.state = await this.deps.store.loadState(this.target.name);
    this.loaded = true;
  }
}
