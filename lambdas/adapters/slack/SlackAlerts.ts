import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { DeliveryError } from '../../domain/errors.js';
import type { PostedMessage, SlackChannel, SlackThread } from '../../domain/ports.js';
import type { SlackMessage } from '../../domain/slackIncident.js';
import { postJson, type RetryPolicy } from '../httpDelivery.js';
import { ChannelPace } from './ChannelPace.js';

/**
 * Where Slack messages go. An incoming webhook cannot thread or edit (it returns no message id); the Web API with
 * a bot token can, so each incident gets one parent message, edited as it moves, with its events in the thread.
 */
export type SlackTarget =
  | { readonly kind: 'webhook'; readonly url: string }
  | { readonly kind: 'bot'; readonly token: string; readonly channel: string; readonly apiUrl?: string };

export interface SlackOptions {
  readonly policy?: RetryPolicy;
  readonly dispatcher?: Dispatcher | undefined;
  /** Waits between retries and for the pace; a fake in tests. */
  readonly wait?: (ms: number) => Promise<unknown>;
  readonly clock?: () => number;
  /** Messages posted at once before the pace of one a second applies. @default 10 */
  readonly burst?: number;
}

/**
 * Posts and edits Block Kit messages with retries (429 waits for Retry-After, 5xx and network errors back off,
 * other 4xx fail at once), at Slack's pace for a channel: posts one a second after a burst, edits (chat.update,
 * Tier 3: about 50 a minute) likewise.
 */
export class SlackAlerts implements SlackChannel {
  readonly canEdit: boolean;
  private readonly posts: ChannelPace;
  private readonly edits: ChannelPace;
  private readonly wait: (ms: number) => Promise<unknown>;

  constructor(
    private readonly target: SlackTarget,
    private readonly options: SlackOptions = {},
  ) {
    this.canEdit = target.kind === 'bot';
    this.wait = options.wait ?? ((ms) => sleep(ms));
    const clock = options.clock ?? Date.now;
    const burst = options.burst ?? 10;
    this.posts = new ChannelPace({ burst, perSecond: 1 }, clock, this.wait);
    this.edits = new ChannelPace({ burst, perSecond: 50 / 60 }, clock, this.wait);
  }

  post(message: SlackMessage, thread: SlackThread | null): Promise<PostedMessage> {
    if (this.target.kind === 'webhook') {
      const url = this.target.url;
      return this.posts.paced(() => this.send(url, message, {})).then(({ attempts }) => ({ ts: null, attempts }));
    }
    const body = { channel: this.target.channel, ...message, ...(thread ? { thread_ts: thread.ts } : {}) };
    return this.posts.paced(() => this.call('chat.postMessage', body));
  }

  update(thread: SlackThread, message: SlackMessage): Promise<PostedMessage> {
    if (this.target.kind === 'webhook') throw new DeliveryError('slack', 'an incoming webhook cannot edit messages');
    const body = { channel: thread.channel ?? this.target.channel, ts: thread.ts, ...message };
    return this.edits.paced(() => this.call('chat.update', body));
  }

  /** The Web API method with the bot token; Slack says `ok: false` (and why) for what it refused. */
  private async call(method: 'chat.postMessage' | 'chat.update', body: Record<string, unknown>): Promise<PostedMessage> {
    const target = this.target as Extract<SlackTarget, { kind: 'bot' }>;
    const url = `${(target.apiUrl ?? 'https://slack.com/api').replace(/\/$/, '')}/${method}`;
    const { attempts, json } = await this.send(url, body, { authorization: `Bearer ${target.token}` });
    const reply = json as { ok?: boolean; ts?: string; channel?: string; error?: string } | null;
    if (!reply?.ok) throw new DeliveryError('slack', `${method} refused: ${reply?.error ?? 'no reply body'}`);
    return { ts: reply.ts ?? null, channel: reply.channel ?? null, attempts };
  }

  private send(url: string, body: unknown, headers: Record<string, string>): Promise<{ attempts: number; json: unknown }> {
    const { policy = {}, dispatcher } = this.options;
    return postJson({ channel: 'slack', policy, dispatcher, wait: this.wait }, url, body, { headers });
  }
}
