import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../../../lambdas/adapters/httpDelivery.js';
import { SlackAlerts } from '../../../../lambdas/adapters/slack/SlackAlerts.js';
import { buildAlert, slackBlocks } from '../../../../lambdas/domain/alerts.js';
import { detect } from '../../../../lambdas/domain/detector.js';
import { DeliveryError } from '../../../../lambdas/domain/errors.js';
import { failed, healthy, observation, primary, replica, view } from '../../../support/factories.js';

const SLACK = 'https://hooks.slack.test';
const first = detect(null, healthy(1_000, 'pg_node1', 3));
const change = detect(
  first.state,
  observation(2_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4)),
);
const alert = buildAlert(change.events.find((e) => e.type === 'leader_changed')!)!;
const message = slackBlocks(alert);

describe('Class: SlackAlerts', () => {
  let agent: MockAgent;
  let waits: number[];
  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    waits = [];
  });
  afterEach(async () => agent.close());

  const webhook = () =>
    new SlackAlerts(
      { kind: 'webhook', url: `${SLACK}/services/T/B/X` },
      { policy: { baseDelayMs: 500 }, dispatcher: agent, wait: async (ms) => waits.push(ms) },
    );

  it('retries 429 after Retry-After and 500 with backoff, and posts exactly one message', async () => {
    // Prepare
    const pool = agent.get(SLACK);
    pool.intercept({ path: '/services/T/B/X', method: 'POST' }).reply(429, 'rate_limited', { headers: { 'retry-after': '3' } });
    pool.intercept({ path: '/services/T/B/X', method: 'POST' }).reply(500, 'internal_error');
    const bodies: string[] = [];
    pool.intercept({ path: '/services/T/B/X', method: 'POST' }).reply((request) => {
      bodies.push(String(request.body));
      return { statusCode: 200, data: 'ok' };
    });
    // Act
    const posted = await webhook().post(message, null);
    // Assess
    expect(posted.attempts).toBe(3);
    expect(waits).toEqual([3_000, 1_000]);
    expect(bodies).toHaveLength(1);
    expect(JSON.parse(bodies[0]!).blocks[1].text.text).toContain('pg_node1 → pg_node2');
    agent.assertNoPendingInterceptors();
  });

  it('does not retry a request Slack refuses as bad (4xx other than 429)', async () => {
    agent.get(SLACK).intercept({ path: '/services/T/B/X', method: 'POST' }).reply(404, 'no_service');
    await expect(webhook().post(message, null)).rejects.toThrow(DeliveryError);
    expect(waits).toEqual([]);
  });

  it('gives up after the attempt budget with the last problem in the message', async () => {
    agent.get(SLACK).intercept({ path: '/services/T/B/X', method: 'POST' }).reply(503, 'down').times(5);
    await expect(webhook().post(message, null)).rejects.toThrow(/gave up after 5 attempts: HTTP 503/);
    expect(waits).toEqual([500, 1_000, 2_000, 4_000]);
  });

  it('threads a bot message under the incident and returns its ts', async () => {
    const bot = new SlackAlerts(
      { kind: 'bot', token: 'xoxb-1', channel: '#oncall', apiUrl: `${SLACK}/api` },
      { dispatcher: agent, wait: async () => undefined },
    );
    let sent: Record<string, unknown> = {};
    agent
      .get(SLACK)
      .intercept({
        path: '/api/chat.postMessage',
        method: 'POST',
        headers: { authorization: 'Bearer xoxb-1' },
        body: (b) => {
          sent = JSON.parse(b);
          return true;
        },
      })
      .reply(200, { ok: true, ts: '1.000200', channel: 'C0456' });
    const posted = await bot.post(message, { ts: '1.000100', channel: 'C0456' });
    expect(posted).toMatchObject({ ts: '1.000200', channel: 'C0456' });
    expect(sent).toMatchObject({ channel: '#oncall', thread_ts: '1.000100' });
  });

  it('treats a chat.postMessage reply of ok:false as a failed delivery', async () => {
    const bot = new SlackAlerts(
      { kind: 'bot', token: 'xoxb-1', channel: '#gone', apiUrl: `${SLACK}/api` },
      { dispatcher: agent, wait: async () => undefined },
    );
    agent.get(SLACK).intercept({ path: '/api/chat.postMessage', method: 'POST' }).reply(200, { ok: false, error: 'channel_not_found' });
    await expect(bot.post(message, null)).rejects.toThrow(/channel_not_found/);
  });
});

describe('SlackAlerts: the channel pace', () => {
  it('posts a burst of 10 at once, then one a second, in the order asked for', async () => {
    // Prepare: a clock that moves only when the pace waits.
    const agent = new MockAgent();
    agent.disableNetConnect();
    let now = 0;
    const sentAt: { at: number; n: number }[] = [];
    agent
      .get(SLACK)
      .intercept({ path: '/services/T/B/X', method: 'POST' })
      .reply((request) => {
        sentAt.push({ at: now, n: JSON.parse(String(request.body)).n });
        return { statusCode: 200, data: 'ok' };
      })
      .times(15);
    const slack = new SlackAlerts(
      { kind: 'webhook', url: `${SLACK}/services/T/B/X` },
      {
        dispatcher: agent,
        clock: () => now,
        wait: async (ms) => {
          now += ms;
        },
      },
    );
    // Act: fifteen messages asked for at once, as a storm's replies are.
    await Promise.all(Array.from({ length: 15 }, (_, n) => slack.post({ ...message, n } as typeof message, null)));
    // Assess
    expect(sentAt.map((s) => s.n)).toEqual(Array.from({ length: 15 }, (_, n) => n));
    expect(sentAt.slice(0, 10).every((s) => s.at === 0)).toBe(true);
    expect(sentAt.slice(10).map((s) => s.at)).toEqual([1_000, 2_000, 3_000, 4_000, 5_000]);
    await agent.close();
  });
});

describe('SlackAlerts: edits', () => {
  it('edits the parent by channel id and ts with chat.update', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    let sent: Record<string, unknown> = {};
    agent
      .get(SLACK)
      .intercept({
        path: '/api/chat.update',
        method: 'POST',
        body: (b) => {
          sent = JSON.parse(b);
          return true;
        },
      })
      .reply(200, { ok: true, ts: '1.000100', channel: 'C0456' });
    const bot = new SlackAlerts(
      { kind: 'bot', token: 'xoxb-1', channel: '#oncall', apiUrl: `${SLACK}/api` },
      { dispatcher: agent, wait: async () => undefined },
    );
    await bot.update({ ts: '1.000100', channel: 'C0456' }, message);
    expect(sent).toMatchObject({ channel: 'C0456', ts: '1.000100', text: message.text });
    await agent.close();
  });
});

describe('Function: retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('2')).toBe(2_000);
    expect(retryAfterMs('Thu, 26 Nov 2026 04:00:05 GMT', Date.UTC(2026, 10, 26, 4, 0, 0))).toBe(5_000);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
