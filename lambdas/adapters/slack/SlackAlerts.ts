import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { type Alert, slackBlocks } from '../../domain/alerts.js';
import { DeliveryError } from '../../domain/errors.js';
import type { AlertChannels, PostedMessage } from '../../domain/ports.js';
import { postJson, type RetryPolicy } from '../httpDelivery.js';

/**
 * Where Slack messages go. An incoming webhook cannot thread (it returns no message id); the Web API's
 * chat.postMessage with a bot token can, so incidents get one thread each.
 */
export type SlackTarget =
  | { readonly kind: 'webhook'; readonly url: string }
  | { readonly kind: 'bot'; readonly token: string; readonly channel: string; readonly apiUrl?: string };

/**
 * Posts Block Kit alerts to Slack with retries: 429 waits for Retry-After, 5xx and network errors back off
 * exponentially, other 4xx fail at once (retrying a bad request cannot help).
 */
export class SlackAlerts implements NonNullable<AlertChannels['slack']> {
  constructor(
    private readonly target: SlackTarget,
    private readonly policy: RetryPolicy = {},
    private readonly dispatcher?: Dispatcher,
    private readonly wait: (ms: number) => Promise<unknown> = (ms) => sleep(ms),
  ) {}

  async post(alert: Alert, threadTs: string | null): Promise<PostedMessage> {
    const message = slackBlocks(alert);
    if (this.target.kind === 'webhook') {
      const { attempts } = await this.send(this.target.url, message, {});
      return { ts: null, attempts };
    }
    const url = `${(this.target.apiUrl ?? 'https://slack.com/api').replace(/\/$/, '')}/chat.postMessage`;
    const body = { channel: this.target.channel, ...message, ...(threadTs ? { thread_ts: threadTs } : {}) };
    const { attempts, json } = await this.send(url, body, { authorization: `Bearer ${this.target.token}` });
    const reply = json as { ok?: boolean; ts?: string; error?: string } | null;
    if (!reply?.ok) throw new DeliveryError('slack', `chat.postMessage refused alert ${alert.eventId}: ${reply?.error ?? 'no reply body'}`);
    return { ts: reply.ts ?? null, attempts };
  }

  private send(url: string, body: unknown, headers: Record<string, string>): Promise<{ attempts: number; json: unknown }> {
    return postJson({ channel: 'slack', policy: this.policy, dispatcher: this.dispatcher, wait: this.wait }, url, body, { headers });
  }
}
