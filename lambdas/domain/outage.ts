import type { ClusterEvent, OutageBounds, ProbePayload, WriteErrorClass } from './events.js';

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
 * Bounds of a write outage from the event that opened it and the probe's attempts (pure).
 * Start: after the last poll that saw a running leader (`lastHealthyAt`, else the poll before the trigger), before
 * the trigger's poll (`observedAt`).
 * End: after the last failed attempt before the first good write, no later than that write.
 * Min downtime: writes were seen failing from the first failed attempt to that last one.
 * Max downtime: from the last healthy poll to the first good write (or to the last attempt when none came).
 */
export function outageBounds(
  trigger: Pick<ClusterEvent, 'observedAt' | 'previousObservedAt' | 'lastHealthyAt'>,
  attempts: readonly AttemptRecord[],
): OutageBounds {
  const startedBefore = trigger.observedAt;
  const startedAfter = Math.min(trigger.lastHealthyAt ?? Number.POSITIVE_INFINITY, trigger.previousObservedAt ?? trigger.observedAt);
  const firstOk = attempts.find(anyWriteWorked);
  const failures = attempts.filter((a) => !anyWriteWorked(a) && (!firstOk || a.at < firstOk.at));
  const firstFailure = failures[0];
  const lastFailure = failures[failures.length - 1];
  const end = firstOk?.at ?? attempts[attempts.length - 1]?.at ?? startedBefore;
  return {
    startedAfter,
    startedBefore,
    endedAfter: lastFailure?.at ?? null,
    endedBefore: firstOk?.at ?? null,
    downtimeMinMs: firstFailure && lastFailure ? lastFailure.at - firstFailure.at : 0,
    downtimeMaxMs: Math.max(0, end - startedAfter),
  };
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
  const firstOk = attempts.find(anyWriteWorked);
  const stable = finalSuccessRun(attempts)[0];
  const base = {
    trigger: { id: trigger.id, type: trigger.type },
    incident,
    attempts: attempts.length,
    errors: countErrors(attempts),
    outage: outageBounds(trigger, attempts),
  };
  if (firstOk && stable) {
    return {
      type: 'write_verified',
      ...base,
      restoredAt: new Date(firstOk.at).toISOString(),
      stableSince: new Date(stable.at).toISOString(),
      servedBy: stable.servedBy ?? { address: null, port: null, timeline: null },
    };
  }
  return {
    type: 'write_unavailable',
    ...base,
    lastError: attempts[attempts.length - 1]?.message ?? 'no attempt could be made',
    deadlineSeconds: deadlineMs / 1000,
  };
}
