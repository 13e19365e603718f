import type { PageAction, PageIncident } from './pageLifecycle.js';

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
   * The last event applied to `page`, and what it meant: a redelivered record reuses it instead of applying the
   * event twice, so a channel that failed the first time still gets the same page.
   */
  readonly pageStep?: { readonly eventId: string; readonly action: PageAction | null; readonly standalone?: boolean } | null;
}

export const EMPTY_NOTIFIER_STATE: NotifierState = { openIncident: null, threads: {}, lastVerifiedAt: null, probeStartedAt: null };
