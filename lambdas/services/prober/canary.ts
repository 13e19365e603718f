import { type ClusterEvent, makeEvent } from '../../domain/events.js';
import type { Log, NotifierStore, VipTarget, WriteProber } from '../../domain/ports.js';

export interface CanaryTarget {
  readonly cluster: string;
  readonly vip: VipTarget;
}

/**
 * The standing canary: one write through each VIP. A success leaves no trace in the audit trail; a failure is
 * recorded as `canary_failed`, which the notifier treats as evidence of lost writes (alert, then the probe).
 * That is how an HAProxy or VIP outage under a healthy Patroni gets noticed.
 */
export async function runCanary(
  targets: readonly CanaryTarget[],
  deps: { prober: WriteProber; store: Pick<NotifierStore, 'recordEvent'>; log: Log },
): Promise<{ checked: number; failed: ClusterEvent[] }> {
  const results = await Promise.all(
    targets.map(async ({ cluster, vip }) => {
      const attempt = await deps.prober.attempt(vip, { cluster, triggerId: 'canary' });
      if (attempt.ok) return null;
      const event = makeEvent(
        { id: `${cluster}:canary:${attempt.at}`, cluster, observedAt: attempt.at, previousObservedAt: null },
        {
          type: 'canary_failed',
          vip: `${vip.host}:${vip.port}`,
          errorClass: attempt.errorClass ?? 'other',
          error: attempt.message ?? 'unknown error',
        },
      );
      await deps.store.recordEvent(event);
      deps.log.warn('canary write failed', { cluster, errorClass: attempt.errorClass });
      return event;
    }),
  );
  const failed = results.filter((e): e is ClusterEvent => e !== null);
  return { checked: targets.length, failed };
}
