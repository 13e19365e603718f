import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, request } from 'undici';
import { DeliveryError, messageOf } from '../domain/errors.js';

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

/** How a channel's POSTs are sent: its name for errors, its retry policy, and (tests) its dispatcher and clock. */
export interface DeliveryTransport {
  readonly channel: 'slack' | 'pagerduty';
  readonly policy?: RetryPolicy;
  readonly dispatcher?: Dispatcher;
  readonly wait?: (ms: number) => Promise<unknown>;
}

/**
 * POSTs JSON with retries: 429 waits for Retry-After, 5xx and network errors back off exponentially, other 4xx
 * fail at once (retrying a bad request cannot help), with `explainRefusal` saying what the caller can fix.
 */
export async function postJson(
  transport: DeliveryTransport,
  url: string,
  body: unknown,
  options: { headers?: Record<string, string>; explainRefusal?: (status: number, text: string) => string } = {},
): Promise<{ attempts: number; json: unknown }> {
  const policy = transport.policy ?? {};
  const maxAttempts = policy.maxAttempts ?? 5;
  const baseDelayMs = policy.baseDelayMs ?? 500;
  const maxDelayMs = policy.maxDelayMs ?? 10_000;
  const wait = transport.wait ?? ((ms: number) => sleep(ms));
  let lastProblem = '';
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let waitMs = Math.min(baseDelayMs * 2 ** (attempt - 1), maxDelayMs);
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: transport.dispatcher,
        signal: AbortSignal.timeout(policy.timeoutMs ?? 5_000),
        headers: { 'content-type': 'application/json; charset=utf-8', ...options.headers },
        body: JSON.stringify(body),
      });
      const text = await response.body.text();
      if (response.statusCode < 300) return { attempts: attempt, json: parseJsonOrNull(text) };
      lastProblem = `HTTP ${response.statusCode}: ${text.slice(0, 200)}`;
      if (response.statusCode === 429) {
        waitMs = Math.min(retryAfterMs(response.headers['retry-after']) ?? waitMs, maxDelayMs);
      } else if (response.statusCode < 500) {
        const advice = options.explainRefusal?.(response.statusCode, text) ?? 'not retried: the request itself was refused';
        throw new DeliveryError(transport.channel, `${lastProblem} (${advice})`);
      }
    } catch (error) {
      if (error instanceof DeliveryError) throw error;
      lastProblem = messageOf(error);
    }
    if (attempt < maxAttempts) await wait(waitMs);
  }
  throw new DeliveryError(transport.channel, `gave up after ${maxAttempts} attempts: ${lastProblem}`);
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
