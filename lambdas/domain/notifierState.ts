import type { PageAction, PageIncident } from './pageLifecycle.js';

/** What one event meant for the cluster's page: a redelivered record reuses it instead of applying the event twice. */
export interface AppliedStep {
  readonly eventId: string;
  readonly action: PageAction | null;
  readonly standalone?: boolean;
  /** The incident the step concerned (its key), so a late replay can tell whether it is still the current one. */
  readonly incidentKey?: string | null;
}

/** A cluster incident's place under a fleet storm. */
export interface StormRef {
  /** The storm's key (its fleet page's dedup_key and SNS incident). */
  readonly key: string;
  readonly incidentKey: string;
  /** The failure kind (PagerDuty's class for the member's alerts). */
  readonly kind: string;
  /** When the member's incident opened: the storm cannot end before this plus its window. */
  readonly openedAt?: number;
  /** The fleet parent in Slack (bot mode): the member's incident message is a reply in its thread. */
  readonly thread: { readonly ts: string; readonly channel: string | null } | null;
  /** The storm is over (resolved): the member's later events no longer look at the fleet record. */
  readonly over?: boolean;
}

/** What the notifier remembers per cluster between stream batches. */
export interface NotifierState {
  /** The incident open now: keyed by the event that opened it. */
  readonly openIncident: { readonly key: string; readonly openedAt: number } | null;
  /** Slack parent message per incident key (bot mode), the most recent few; a bare ts in states saved before edits. */
  readonly threads: Readonly<Record<string, string | { readonly ts: string; readonly channel: string | null; readonly openedBy?: string }>>;
  /** Epoch ms of the last write verified through the VIP. */
  readonly lastVerifiedAt: number | null;
  /** Epoch ms a probe was started and has not reported yet. */
  readonly probeStartedAt: number | null;
  /** The incident as paged (its lifecycle); absent in states saved before pages had one. */
  readonly page?: PageIncident | null;
  /**
   * The last few events applied to `page`, newest last. Two readers of the stream (a redelivery, an overlapping
   * invocation) see the same event with different states; the one that comes second finds the step here and
   * repeats it, so every channel gets the same page whoever sends it.
   */
  readonly appliedSteps?: readonly AppliedStep[];
  /** The last event applied, in states saved before `appliedSteps`. */
  readonly pageStep?: AppliedStep | null;
  /** The storm the cluster's current incident is grouped under, if any. */
  readonly storm?: StormRef | null;
  /** Bumped by every save; a save expecting another revision fails (two notifiers raced) and is redone. */
  readonly revision?: number;
}

export const EMPTY_NOTIFIER_STATE: NotifierState = { openIncident: null, threads: {}, lastVerifiedAt: null, probeStartedAt: null };

/** Enough for a lagging second reader: a stream shard is read in order, so a replay is one of the latest. */
const STEPS_KEPT = 32;

/** The step already applied for an event, if the state remembers it. */
export function appliedStepOf(state: NotifierState, eventId: string): AppliedStep | null {
  const steps = state.appliedSteps ?? (state.pageStep ? [state.pageStep] : []);
  return steps.find((step) => step.eventId === eventId) ?? null;
}

/** The state with `step` remembered (the oldest forgotten past STEPS_KEPT). */
export function withAppliedStep(state: NotifierState, step: AppliedStep): NotifierState {
  const steps = [...(state.appliedSteps ?? (state.pageStep ? [state.pageStep] : [])), step];
  const { pageStep: _legacy, ...rest } = state;
  return { ...rest, appliedSteps: steps.slice(Math.max(0, steps.length - STEPS_KEPT)) };
}

/** The last `count` entries of a record, in insertion order: how the notifier bounds what it keeps per key. */
export function keepLatest<T>(entries: Readonly<Record<string, T>>, count: number): Record<string, T> {
  const all = Object.entries(entries);
  return Object.fromEntries(all.slice(Math.max(0, all.length - count)));
}
