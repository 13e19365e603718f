import { type ClusterEvent, makeEvent } from '../../domain/events.js';
import { restoreTimeOf } from '../../domain/outage.js';
import type { Clock, Log, NotifierStore, VipTarget, WriteProber } from '../../domain/ports.js';
import { type VerifyOptions, verifyWrites } from './verifyWrites.js';

export interface ProbeRunDeps {
  readonly store: Pick<NotifierStore, 'recordEvent'>;
  readonly prober: WriteProber;
  readonly clock: Clock;
  readonly log: Log;
}

/**
 * The probe itself (run by the prober Lambda, or in the background locally): write through the VIP until it
 * works or the deadline passes, then record the verdict as an event with a deterministic id.
 */
export async function runProbe(
  trigger: ClusterEvent,
  incidentKey: string,
  vip: VipTarget,
  deps: ProbeRunDeps,
  options: VerifyOptions = {},
): Promise<ClusterEvent> {
  const verdict = await verifyWrites(deps.prober, vip, trigger, incidentKey, { ...options, clock: deps.clock });
  const event = makeEvent(
    {
      id: `${trigger.id}/probe`,
      cluster: trigger.cluster,
      observedAt: deps.clock(),
      previousObservedAt: trigger.observedAt,
      happenedAt: verdict.type === 'write_verified' ? restoreTimeOf(verdict) : null,
    },
    verdict,
  );
  const recorded = await deps.store.recordEvent(event);
  deps.log.info(recorded ? 'probe verdict recorded' : 'probe verdict was already recorded', { id: event.id, type: event.type });
  return event;
}
