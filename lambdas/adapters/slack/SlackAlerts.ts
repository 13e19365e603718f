import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, request } from 'undici';
import { type Alert, slackBlocks } from '../../domain/alerts.js';
import { DeliveryError, messageOf } from '../../domain/errors.js';
import type { AlertChannels, PostedMessage } from '../../domain/ports.js';

/**
 * Where Slack messages go. An incoming webhook cannot thread (it returns no message id); the Web API's
 * chat.postMessage with a bot token can, so incidents get one thread each.
 */
export type SlackTarget =
  | { readonly kind: 'webhook'; readonly url: string }
  | { readonly kind: 'bot'; readonly token: string; readonly channel: string; readonly apiUrl?: string };

export interface RetryPolicy {
  /** @default 5 */
  readonly maxAttempts?: number;
  /** First backoff; doubled each retry. @default 500 */
  readonly baseDelayMs?: number;
  /** Ceiling of one wait, also applied to Retry-After. @default 10000 */
  readonly maxDelayMs?: number;
  /** Whole-request time budget. @default 5000 */
  readonly timeoutMs?: number;
}

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

  private async send(url: string, body: unknown, headers: Record<string, string>): Promise<{ attempts: number; json: unknown }> {
    const maxAttempts = this.policy.maxAttempts ?? 5;
    const baseDelayMs = this.policy.baseDelayMs ?? 500;
    const maxDelayMs = this.policy.maxDelayMs ?? 10_000;
    let lastProblem = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let waitMs = Math.min(baseDelayMs * 2 ** (attempt - 1), maxDelayMs);
      try {
        const response = await request(url, {
          method: 'POST',
          dispatcher: this.dispatcher,
          signal: AbortSignal.timeout(this.policy.timeoutMs ?? 5_000),
          headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
          body: JSON.stringify(body),
        });
        const text = await response.body.text();
        if (response.statusCode < 300) return { attempts: attempt, json: parseJsonOrNull(text) };
        lastProblem = `HTTP ${response.statusCode}: ${text.slice(0, 200)}`;
        if (response.statusCode === 429) {
          waitMs = Math.min(retryAfterMs(response.headers['retry-after']) ?? waitMs, maxDelayMs);
        } else if (response.statusCode < 500) {
          throw new DeliveryError('slack', `${lastProblem} (not retried: the request itself was refused)`);
        }
      } catch (error) {
        if (error instanceof DeliveryError) throw error;
        lastProblem = messageOf(error);
      }
      if (attempt < maxAttempts) await this.wait(waitMs);
    }
    throw new DeliveryError('slack', `gave up after ${maxAttempts} attempts: ${lastProblem}`);
  }
}

/** Retry-After in seconds (Slack's form) or as an HTTP date. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function parseJsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
