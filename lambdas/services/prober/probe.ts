import type { DirectWrite, Observed } from '../../domain/anatomy.js';
import { messageOf } from '../../domain/errors.js';
import { type ClusterEvent, makeEvent, type ProbePayload } from '../../domain/events.js';
import { restoreTimeOf } from '../../domain/outage.js';
import type { Clock, Log, NotifierStore, VipTarget, WriteProber } from '../../domain/ports.js';
import { type AnatomyContext, type AnatomySources, anatomyOf, watchDirectWrites } from './anatomyEvidence.js';
import { type VerifyOptions, verifyWrites } from './verifyWrites.js';

export interface ProbeRunDeps {
  readonly store: Pick<NotifierStore, 'recordEvent'>;
  readonly prober: WriteProber;
  readonly clock: Clock;
  readonly log: Log;
  /** Where the incident's anatomy comes from; without it the verdict carries none. */
  readonly anatomy?: { readonly context: AnatomyContext; readonly sources: AnatomySources };
}

/**
 * The probe itself (run by the prober Lambda, or in the background locally): write through the VIP until writes
 * work for good or the deadline passes, then record the verdict, with the incident's anatomy, as an event with a
 * deterministic id.
 */
export async function runProbe(
  trigger: ClusterEvent,
  incidentKey: string,
  vip: VipTarget,
  deps: ProbeRunDeps,
  options: VerifyOptions = {},
): Promise<ClusterEvent> {
  let probing = true;
  const direct: Promise<Observed<DirectWrite>> = deps.anatomy
    ? watchDirectWrites(trigger, deps.anatomy.context, deps.anatomy.sources, {
        stopAt: Math.min(deps.clock() + (options.deadlineMs ?? 90_000), options.hardStopAt ?? Number.POSITIVE_INFINITY),
        stopped: () => !probing,
      })
    : Promise.resolve({ ok: false, note: 'not configured' });
  const measured = await verifyWrites(deps.prober, vip, trigger, incidentKey, { ...options, clock: deps.clock });
  probing = false;
  const verdict = await withAnatomy(trigger, measured, await direct, deps);
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

/** The verdict with its anatomy; a verdict is never lost because an anatomy source failed. */
async function withAnatomy(
  trigger: ClusterEvent,
  verdict: ProbePayload,
  direct: Observed<DirectWrite>,
  deps: ProbeRunDeps,
): Promise<ProbePayload> {
  if (verdict.type !== 'write_verified' || !deps.anatomy) return verdict;
  try {
    return { ...verdict, anatomy: await anatomyOf(trigger, verdict, deps.anatomy.context, deps.anatomy.sources, direct) };
  } catch (error) {
    deps.log.warn('incident anatomy could not be built; the verdict is recorded without it', { id: trigger.id, error: messageOf(error) });
    return verdict;
  }
}
