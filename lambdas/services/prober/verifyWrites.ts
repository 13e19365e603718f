import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterEvent, ProbePayload } from '../../domain/events.js';
import { type AttemptRecord, DEFAULT_STABILITY_WINDOW_MS, finalSuccessRun, probeVerdict } from '../../domain/outage.js';
import type { Clock, ProbeAttempt, VipTarget, WriteProber } from '../../domain/ports.js';

export interface VerifyOptions {
  /** Give up after this long: Patroni's ttl plus HAProxy's fall and rise, with margin. @default 90000 */
  readonly deadlineMs?: number;
  /** Time between attempt starts. @default 150 */
  readonly intervalMs?: number;
  /**
   * How long writes must keep working, unbroken, before they count as restored for good. It must cover
   * HAProxy's `fall × inter`: until the old leader's checks have failed `fall` times, HAProxy keeps balancing
   * some connections to it, and a client still fails. @default 12000 (the sample HAProxy's (3 + 1) × 3 s)
   */
  readonly stabilityWindowMs?: number;
  /**
   * Connections per attempt, opened at once; the attempt is good only if every write succeeds. A round-robin
   * balancer sends simultaneous connections to different servers, so a node that HAProxy has not yet marked
   * down is caught instead of skipped. @default 2
   */
  readonly fanout?: number;
  /** Never run past this epoch ms (the Lambda's own deadline). */
  readonly hardStopAt?: number;
  readonly clock?: Clock;
}

/** Attempts in flight at most: during an outage HAProxy can hold a connection for seconds. */
const MAX_IN_FLIGHT = 16;

/**
 * Writes through the VIP every `intervalMs` until writes have kept working for the stability window or the
 * deadline passes (writes back just before it still get their window), and returns the verdict with the outage's
 * bounds. An attempt starts on every tick whether or not earlier ones have finished, so a connection that HAProxy
 * holds for seconds does not coarsen the measurement. Bounded in time and count.
 */
export async function verifyWrites(
  prober: WriteProber,
  target: VipTarget,
  trigger: ClusterEvent,
  incident: string,
  options: VerifyOptions = {},
): Promise<ProbePayload> {
  const clock = options.clock ?? Date.now;
  const deadlineMs = options.deadlineMs ?? 90_000;
  const intervalMs = options.intervalMs ?? 150;
  const windowMs = options.stabilityWindowMs ?? DEFAULT_STABILITY_WINDOW_MS;
  const fanout = Math.max(1, options.fanout ?? 2);
  const hardStopAt = options.hardStopAt ?? Number.POSITIVE_INFINITY;
  const deadlineAt = Math.min(clock() + deadlineMs, hardStopAt);
  // Writes back just before the deadline still get their whole stability window; failing ones stop at it.
  const stopAt = Math.min(deadlineAt + windowMs, hardStopAt);
  const maxAttempts = Math.ceil((deadlineMs + windowMs) / intervalMs) + 1;
  const done: AttemptRecord[] = [];
  const inFlight = new Set<Promise<void>>();
  let started = 0;
  const sorted = () => [...done].sort((a, b) => a.at - b.at);
  const settled = () => isStable(sorted(), inFlight.size, windowMs);
  while (started < maxAttempts && !settled()) {
    const tick = clock();
    if (tick >= stopAt || (tick >= deadlineAt && finalSuccessRun(sorted()).length === 0)) break;
    if (inFlight.size < MAX_IN_FLIGHT) {
      started++;
      const attempt: Promise<void> = Promise.all(
        Array.from({ length: fanout }, () => prober.attempt(target, { cluster: trigger.cluster, triggerId: trigger.id })),
      ).then((writes) => {
        done.push(combine(writes));
        inFlight.delete(attempt);
      });
      inFlight.add(attempt);
    }
    const wait = tick + intervalMs - clock();
    if (wait > 0) await Promise.race([sleep(wait), ...inFlight]);
    // Sleep the rest of the tick if an attempt finished early.
    const rest = tick + intervalMs - clock();
    if (rest > 0 && !settled()) await sleep(rest);
  }
  await Promise.all([...inFlight]);
  return probeVerdict(
    trigger,
    incident,
    [...done].sort((a, b) => a.at - b.at),
    deadlineMs,
  );
}

/** Writes kept working: the final run of good attempts spans the window, and no attempt is still pending. */
function isStable(sorted: readonly AttemptRecord[], pending: number, windowMs: number): boolean {
  const run = finalSuccessRun(sorted);
  return pending === 0 && run.length >= 2 && run[run.length - 1]!.at - run[0]!.at >= windowMs;
}

/** Simultaneous writes as one attempt: good only if all were, else the first failure speaks for it. */
function combine(writes: readonly ProbeAttempt[]): AttemptRecord {
  const at = Math.min(...writes.map((w) => w.at));
  const failure = writes.find((w) => !w.ok);
  const success = writes.find((w) => w.ok);
  return failure ? { ...failure, at, someOk: success !== undefined, servedBy: success?.servedBy } : { ...writes[0]!, at, someOk: true };
}
