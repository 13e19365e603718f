import type { ClusterEvent, Flapping, OutageBounds, ProbePayload, WriteErrorClass } from './events.js';

/**
 * Patroni's sample HAProxy (`inter 3s fall 3`) keeps a failing server UP for up to 9 s after its first failed
 * check; one more check of margin.
 */
export const DEFAULT_STABILITY_WINDOW_MS = 12_000;

/**
 * How long writes must keep working to count as restored for good, for a cluster's HAProxy check timings:
 * `fall × inter`, the longest a failing old leader stays UP and gets connections, plus one check.
 */
export function stabilityWindowMs(haproxy: { readonly interSeconds: number; readonly fall: number } | undefined): number {
  return haproxy ? (haproxy.fall + 1) * haproxy.interSeconds * 1000 : DEFAULT_STABILITY_WINDOW_MS;
}

/** One write attempt as the outage math needs it. */
export interface AttemptRecord {
  readonly at: number;
  /** Every write of the attempt succeeded. */
  readonly ok: boolean;
  /** At least one write of the attempt succeeded (the attempt opens several connections at once). */
  readonly someOk?: boolean | undefined;
  readonly errorClass?: WriteErrorClass | undefined;
  readonly message?: string | undefined;
  readonly servedBy?: { readonly address: string | null; readonly port: number | null; readonly timeline: number | null } | undefined;
}

/**
 * The trailing run of successful attempts: writes count as restored only when they keep working. While HAProxy
 * still has the old leader up (until `fall` checks fail), connections alternate between it and the new leader,
 * and a single lucky write would end the outage seconds early.
 */
export function finalSuccessRun(attempts: readonly AttemptRecord[]): readonly AttemptRecord[] {
  let start = attempts.length;
  while (start > 0 && attempts[start - 1]!.ok) start--;
  return attempts.slice(start);
}

/** The first write that got through marks writes coming back, even while other connections still fail. */
function anyWriteWorked(attempt: AttemptRecord): boolean {
  return attempt.ok || attempt.someOk === true;
}

/**
 * When writes came back for good: the start of the final unbroken run of good attempts, which is what a client
 * lives through (null while the last attempt failed, or when none was made).
 */
function restoredForGood(attempts: readonly AttemptRecord[]): AttemptRecord | null {
  const run = finalSuccessRun(attempts);
  return run[0] ?? null;
}

/**
 * Bounds of a write outage from the event that opened it and the probe's attempts (pure).
 * Start: after the last poll that saw a running leader (`lastHealthyAt`, else the poll before the trigger), before
 * the trigger's poll (`observedAt`).
 * End: writes came back for good after the last failed attempt and no later than the first attempt of the final
 * unbroken run of good ones. A good write followed by failures (HAProxy still balancing to the old leader) does
 * not end the outage: clients still fail.
 * Min downtime: writes were seen failing from the first failed attempt to the last one.
 * Max downtime: from the last healthy poll to the restore for good (or to the last attempt when writes never
 * came back).
 */
export function outageBounds(
  trigger: Pick<ClusterEvent, 'observedAt' | 'previousObservedAt' | 'lastHealthyAt'>,
  attempts: readonly AttemptRecord[],
): OutageBounds {
  const startedBefore = trigger.observedAt;
  const startedAfter = Math.min(trigger.lastHealthyAt ?? Number.POSITIVE_INFINITY, trigger.previousObservedAt ?? trigger.observedAt);
  const restored = restoredForGood(attempts);
  const failures = attempts.filter((a) => !a.ok && (!restored || a.at < restored.at));
  const firstFailure = failures[0];
  const lastFailure = failures[failures.length - 1];
  const end = restored?.at ?? attempts[attempts.length - 1]?.at ?? startedBefore;
  return {
    startedAfter,
    startedBefore,
    endedAfter: lastFailure?.at ?? null,
    endedBefore: restored?.at ?? null,
    downtimeMinMs: firstFailure && lastFailure ? lastFailure.at - firstFailure.at : 0,
    downtimeMaxMs: Math.max(0, end - startedAfter),
  };
}

/**
 * Writes that worked before they worked for good: how many attempts failed after the first good write, and
 * from that write to the restore for good.
 */
export function flappingOf(attempts: readonly AttemptRecord[]): Flapping {
  const firstGood = attempts.find(anyWriteWorked);
  const restored = restoredForGood(attempts);
  if (!firstGood || !restored) return { failedAttempts: 0, spanMs: 0 };
  const failedAttempts = attempts.filter((a) => !a.ok && a.at >= firstGood.at && a.at < restored.at).length;
  return { failedAttempts, spanMs: Math.max(0, restored.at - firstGood.at) };
}

/** When writes came back for good, from a verdict recorded by any version of the probe. */
export function restoreTimeOf(verdict: Extract<ProbePayload, { type: 'write_verified' }>): string {
  // Verdicts recorded before restore-for-good kept the first good write in `restoredAt` and the final run in `stableSince`.
  return verdict.firstGoodWriteAt === undefined && verdict.stableSince !== undefined ? verdict.stableSince : verdict.restoredAt;
}

function countErrors(attempts: readonly AttemptRecord[]): Partial<Record<WriteErrorClass, number>> {
  const counts: Partial<Record<WriteErrorClass, number>> = {};
  for (const a of attempts) if (!a.ok && a.errorClass) counts[a.errorClass] = (counts[a.errorClass] ?? 0) + 1;
  return counts;
}

/** The probe's verdict as an event payload: `write_verified` with when and where, or `write_unavailable`. */
export function probeVerdict(
  trigger: ClusterEvent,
  incident: string,
  attempts: readonly AttemptRecord[],
  deadlineMs: number,
): ProbePayload {
  const firstGood = attempts.find(anyWriteWorked);
  const restored = restoredForGood(attempts);
  const base = {
    trigger: { id: trigger.id, type: trigger.type },
    incident,
    attempts: attempts.length,
    errors: countErrors(attempts),
    outage: outageBounds(trigger, attempts),
  };
  if (firstGood && restored) {
    return {
      type: 'write_verified',
      ...base,
      restoredAt: new Date(restored.at).toISOString(),
      firstGoodWriteAt: new Date(firstGood.at).toISOString(),
      flapping: flappingOf(attempts),
      servedBy: restored.servedBy ?? { address: null, port: null, timeline: null },
    };
  }
  return {
    type: 'write_unavailable',
    ...base,
    lastError: attempts[attempts.length - 1]?.message ?? 'no attempt could be made',
    deadlineSeconds: deadlineMs / 1000,
  };
}
