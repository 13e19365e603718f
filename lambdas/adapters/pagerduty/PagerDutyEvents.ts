import type { Dispatcher } from 'undici';
import type { PagerDutyRequest } from '../../domain/pagerduty.js';
import type { AlertChannels } from '../../domain/ports.js';
import { postJson, type RetryPolicy } from '../httpDelivery.js';

/** PagerDuty's public enqueue endpoint; the change-events endpoint sits beside it on the same origin. */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** Where a routing key comes from, and the key; the source names it in errors, the key is never shown. */
export interface PagerDutyTarget {
  readonly routingKey: string;
  /** `environment variable PD_KEY` or `secret failover/pagerduty`: what an error tells the user to check. */
  readonly keySource: string;
  /** @default PAGERDUTY_EVENTS_URL */
  readonly eventsUrl?: string;
}

/**
 * Sends Events API v2 requests: alert events to `eventsUrl`, change events to `/v2/change/enqueue` on its origin.
 * PagerDuty answers 202 when it accepted an event; 429 and 5xx are retried with backoff; a 400 (a bad routing key,
 * a malformed event) fails at once, naming where the key came from.
 */
export class PagerDutyEvents implements NonNullable<AlertChannels['pagerduty']> {
  private readonly urls: Record<PagerDutyRequest['endpoint'], string>;

  constructor(
    private readonly target: PagerDutyTarget,
    private readonly transport: { policy?: RetryPolicy; dispatcher?: Dispatcher; wait?: (ms: number) => Promise<unknown> } = {},
  ) {
    const enqueue = target.eventsUrl ?? PAGERDUTY_EVENTS_URL;
    this.urls = { enqueue, change: new URL('/v2/change/enqueue', enqueue).toString() };
  }

  async send(request: PagerDutyRequest): Promise<{ attempts: number }> {
    const { attempts } = await postJson(
      { channel: 'pagerduty', ...this.transport },
      this.urls[request.endpoint],
      { routing_key: this.target.routingKey, ...request.body },
      { explainRefusal: (status) => `PagerDuty refused the event (HTTP ${status}): check the routing key in ${this.target.keySource}` },
    );
    return { attempts };
  }
}
