import { setTimeout as sleep } from 'node:timers/promises';
import type { VipTarget, WriteProber } from '../adapters/postgres/WriteProbe.js';
import type { ClusterEvent, ProbePayload } from '../core/events.js';
import { probeVerdict, type AttemptRecord } from '../core/outage.js';

export interface VerifyOptions {
  /** Give up after this long: Patroni's ttl plus HAProxy's fall and rise, with margin. @default 90000 */
  readonly deadlineMs?: number;
  /** Time between attempt starts. @default 250 */
  readonly intervalMs?: number;
  /** Never run past this epoch ms (the Lambda's own deadline). */
  readonly hardStopAt?: number;
  readonly clock?: () => number;
}

/**
 * Writes through the VIP every `intervalMs` until one succeeds or the deadline passes, and returns the verdict
 * with the outage's bounds. Bounded in time and in attempts (deadline / interval).
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
  const intervalMs = options.intervalMs ?? 250;
  const stopAt = Math.min(clock() + deadlineMs, options.hardStopAt ?? Number.POSITIVE_INFINITY);
  const maxAttempts = Math.ceil(deadlineMs / intervalMs) + 1;
  const attempts: AttemptRecord[] = [];
  while (attempts.length < maxAttempts) {
    const attempt = await prober.attempt(target, { cluster: trigger.cluster, triggerId: trigger.id });
    attempts.push(attempt);
    if (attempt.ok) break;
    const wait = attempt.at + intervalMs - clock();
    if (clock() + Math.max(wait, 0) >= stopAt) break;
    if (wait > 0) await sleep(wait);
  }
  return probeVerdict(trigger, incident, attempts, deadlineMs);
}
