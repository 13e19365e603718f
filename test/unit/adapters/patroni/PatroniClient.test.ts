import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PatroniHttp } from '../../../../lambdas/adapters/patroni/http.js';
import { PatroniClient } from '../../../../lambdas/adapters/patroni/PatroniClient.js';
import { recordedBodies } from '../../../support/recorded.js';

const v3 = recordedBodies(3);
const ORIGIN = 'http://10.0.0.4:8008';

describe('Class: PatroniHttp', () => {
  let agent: MockAgent;
  let http: PatroniHttp;

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    http = new PatroniHttp({ timeoutMs: 200, maxBodyBytes: 64 * 1024 }, agent);
  });
  afterEach(async () => agent.close());

  const reply = (status: number, body: string, path = '/patroni') =>
    agent.get(ORIGIN).intercept({ path, method: 'GET' }).reply(status, body);

  it('returns the JSON of a 200', async () => {
    reply(200, JSON.stringify(v3.patroni_master_running));
    expect(await http.getJson(`${ORIGIN}/patroni`)).toMatchObject({ ok: true, status: 200, body: { role: 'master' } });
  });

  it('returns the JSON of a 503 too: health endpoints send the full body with it', async () => {
    reply(503, JSON.stringify(v3.patroni_replica_running), '/primary');
    expect(await http.getJson(`${ORIGIN}/primary`)).toMatchObject({ ok: true, status: 503, body: { role: 'replica' } });
  });

  it.each([
    [302, '/patroni'],
    [404, '/patroni'],
    [500, '/cluster'],
    [503, '/patroni'],
  ])('never reads the body of an HTTP %i from %s as a status, however valid its JSON', async (status, path) => {
    // Prepare: a redirect (or error) whose body is a perfectly valid /patroni reply of a primary.
    reply(status, JSON.stringify(v3.patroni_master_running), path);
    // Act
    const result = await http.getJson(`${ORIGIN}${path}`);
    // Assess
    expect(result).toMatchObject({ ok: false, failure: 'invalid_reply', message: expect.stringContaining(`answered HTTP ${status}`) });
  });

  it.each([
    ['a truncated body', '{"state": "running", "role": "mas'],
    ['an HTML error page', '<html><body><h1>502 Bad Gateway</h1></body></html>'],
    ['plain text', 'Service Unavailable'],
    ['an empty body', ''],
  ])('reports %s as invalid_reply, quoting its start', async (_label, body) => {
    reply(200, body);
    const result = await http.getJson(`${ORIGIN}/patroni`);
    expect(result).toMatchObject({ ok: false, failure: 'invalid_reply' });
    expect(!result.ok && result.message).toContain('is not JSON');
  });

  it('refuses a body past the size cap without reading it all', async () => {
    reply(200, `"${'x'.repeat(200 * 1024)}"`);
    const result = await http.getJson(`${ORIGIN}/patroni`);
    expect(result).toMatchObject({ ok: false, failure: 'invalid_reply' });
    expect(!result.ok && result.message).toContain('more than 65536 bytes');
  });

  it('reports invalid UTF-8 as invalid_reply', async () => {
    agent
      .get(ORIGIN)
      .intercept({ path: '/patroni' })
      .reply(200, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect(await http.getJson(`${ORIGIN}/patroni`)).toMatchObject({
      ok: false,
      failure: 'invalid_reply',
      message: expect.stringContaining('UTF-8'),
    });
  });

  it('reports a reply slower than the timeout as timeout', async () => {
    agent.get(ORIGIN).intercept({ path: '/patroni' }).reply(200, '{}').delay(1_000);
    expect(await http.getJson(`${ORIGIN}/patroni`)).toMatchObject({
      ok: false,
      failure: 'timeout',
      message: expect.stringContaining('200 ms'),
    });
  });

  it('reports a refused connection as unreachable', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.4:8008'), { code: 'ECONNREFUSED' });
    agent.get(ORIGIN).intercept({ path: '/patroni' }).replyWithError(refused);
    expect(await http.getJson(`${ORIGIN}/patroni`)).toMatchObject({
      ok: false,
      failure: 'unreachable',
      message: expect.stringContaining('connection refused'),
    });
  });

  it('sends basic auth when configured', async () => {
    const authed = new PatroniHttp({ basicAuth: { username: 'u', password: 'p' } }, agent);
    agent
      .get(ORIGIN)
      .intercept({ path: '/patroni', headers: { authorization: 'Basic dTpw' } })
      .reply(200, '{}');
    expect(await authed.getJson(`${ORIGIN}/patroni`)).toMatchObject({ ok: true });
  });
});

describe('Class: PatroniClient', () => {
  let agent: MockAgent;
  const members = ['http://10.0.0.4:8008', 'http://10.0.0.5:8008', 'http://10.0.0.6:8008'];
  const cluster = {
    members: [
      { name: 'pg_node1', role: 'leader', state: 'running', api_url: 'http://10.0.0.4:8008/patroni', timeline: 2 },
      { name: 'pg_node2', role: 'replica', state: 'running', api_url: 'http://10.0.0.5:8008/patroni', timeline: 2, lag: 0 },
      { name: 'pg_node3', role: 'replica', state: 'running', api_url: 'http://10.0.0.6:8008/patroni', timeline: 2, lag: 0 },
    ],
  };

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
  });
  afterEach(async () => agent.close());

  function client(): PatroniClient {
    return new PatroniClient(
      () => 42,
      {},
      () => new PatroniHttp({ timeoutMs: 200 }, agent),
    );
  }

  it('names Patroni 3.0 members from /cluster, gives each member a status, and reads /history only when the timeline moved', async () => {
    // Prepare
    agent
      .get('http://10.0.0.4:8008')
      .intercept({ path: '/patroni' })
      .reply(200, JSON.stringify({ ...v3.patroni_master_running, timeline: 3 }));
    agent.get('http://10.0.0.4:8008').intercept({ path: '/cluster' }).reply(200, JSON.stringify(cluster));
    agent
      .get('http://10.0.0.4:8008')
      .intercept({ path: '/history' })
      .reply(200, JSON.stringify([[2, 100, 'r', '2026-11-26T00:00:00+00:00', 'pg_node1']]));
    agent.get('http://10.0.0.5:8008').intercept({ path: '/patroni' }).reply(200, '<html>oops</html>');
    agent
      .get('http://10.0.0.6:8008')
      .intercept({ path: '/patroni' })
      .replyWithError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    // Act
    const observation = await client().observe({ name: 'c', members }, { timeline: 2 });
    // Assess
    expect(observation.observedAt).toBe(42);
    expect(observation.members.map((m) => [m.name, m.status])).toEqual([
      ['pg_node1', 'ok'],
      ['pg_node2', 'invalid_reply'],
      ['pg_node3', 'unreachable'],
    ]);
    expect(observation.view?.members.map((m) => m.name)).toEqual(['pg_node1', 'pg_node2', 'pg_node3']);
    expect(observation.history).toEqual([
      { endedTimeline: 2, switchLsn: 100, reason: 'r', timestamp: '2026-11-26T00:00:00+00:00', newLeader: 'pg_node1' },
    ]);
  });

  it('falls back to another answering member for /cluster, and records why the first failed', async () => {
    agent.get('http://10.0.0.4:8008').intercept({ path: '/patroni' }).reply(200, JSON.stringify(v3.patroni_master_running));
    agent.get('http://10.0.0.4:8008').intercept({ path: '/cluster' }).reply(200, '{"members": "broken"}');
    agent.get('http://10.0.0.5:8008').intercept({ path: '/patroni' }).reply(200, JSON.stringify(v3.patroni_replica_running));
    agent.get('http://10.0.0.5:8008').intercept({ path: '/cluster' }).reply(200, JSON.stringify(cluster));
    agent.get('http://10.0.0.6:8008').intercept({ path: '/patroni' }).reply(200, JSON.stringify(v3.patroni_replica_running));
    const observation = await client().observe({ name: 'c', members }, null);
    expect(observation.view?.members).toHaveLength(3);
    expect(observation.history).toBeNull();
  });

  it('asks for /history alongside the fallback /cluster when the members report a new timeline and the first is gone', async () => {
    // Prepare: the old leader refuses; pg_node2 reports itself primary on timeline 3, its /cluster takes 50 ms.
    const calls: string[] = [];
    const logging = new (class extends PatroniHttp {
      override async getJson(url: string) {
        calls.push(`start ${url}`);
        const reply = await super.getJson(url);
        calls.push(`end ${url}`);
        return reply;
      }
    })({ timeoutMs: 200 }, agent);
    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    agent.get(members[0]!).intercept({ path: '/patroni' }).replyWithError(refused);
    agent.get(members[0]!).intercept({ path: '/cluster' }).replyWithError(refused);
    const promoted = { ...v3.patroni_master_running, timeline: 3 };
    agent.get(members[1]!).intercept({ path: '/patroni' }).reply(200, JSON.stringify(promoted));
    agent.get(members[1]!).intercept({ path: '/cluster' }).reply(200, JSON.stringify(cluster)).delay(50);
    agent
      .get(members[1]!)
      .intercept({ path: '/history' })
      .reply(200, JSON.stringify([[2, 100, 'no recovery target specified', '2026-11-26T00:00:00+00:00', 'pg_node2']]));
    agent
      .get(members[2]!)
      .intercept({ path: '/patroni' })
      .reply(200, JSON.stringify({ ...v3.patroni_replica_running, timeline: 3 }));
    agent.get(members[2]!).intercept({ path: '/cluster' }).reply(200, JSON.stringify(cluster)).delay(50);
    // Act
    const observation = await new PatroniClient(
      () => 42,
      {},
      () => logging,
    ).observe({ name: 'c', members }, { timeline: 2 });
    // Assess: the same observation as one read after the other, with /history asked before the fallback view came back.
    expect(observation.view?.members).toHaveLength(3);
    expect(observation.history?.map((h) => h.newLeader)).toEqual(['pg_node2']);
    expect(calls.indexOf(`start ${members[1]}/history`)).toBeLessThan(calls.indexOf(`end ${members[1]}/cluster`));
  });

  it('asks no other member for /cluster when the first answers /patroni but not /cluster (its DCS is down, theirs too)', async () => {
    agent.get('http://10.0.0.4:8008').intercept({ path: '/patroni' }).reply(200, JSON.stringify(v3.patroni_master_running));
    agent.get('http://10.0.0.4:8008').intercept({ path: '/cluster' }).reply(200, '{}').delay(1_000);
    for (const url of ['http://10.0.0.5:8008', 'http://10.0.0.6:8008']) {
      agent.get(url).intercept({ path: '/patroni' }).reply(200, JSON.stringify(v3.patroni_replica_running));
      agent.get(url).intercept({ path: '/cluster' }).reply(200, JSON.stringify(cluster));
    }
    const observation = await client().observe({ name: 'c', members }, null);
    expect(observation.members.map((m) => m.status)).toEqual(['ok', 'ok', 'ok']);
    expect(observation.view).toBeNull();
    expect(observation.viewError).toContain('did not answer within 200 ms');
  });

  it('records a cluster no member of which answers, with no view and the reason', async () => {
    for (const url of members) {
      agent.get(url).intercept({ path: '/patroni' }).reply(200, '{}').delay(1_000);
    }
    agent.get(members[0]!).intercept({ path: '/cluster' }).reply(200, '{}').delay(1_000);
    const observation = await client().observe({ name: 'c', members }, null);
    expect(observation.members.every((m) => m.status === 'timeout')).toBe(true);
    expect(observation.view).toBeNull();
    expect(observation.viewError).toContain('did not answer within 200 ms');
  });
  it('reads /config from the first member that gives it, and says why when none does', async () => {
    agent.get(members[0]!).intercept({ path: '/config' }).reply(502, 'no config in DCS');
    agent
      .get(members[1]!)
      .intercept({ path: '/config' })
      .reply(200, JSON.stringify({ ttl: 30, loop_wait: 10 }));
    expect(await client().readSettings({ name: 'c', members })).toEqual({ ok: true, value: { ttl: 30, loopWait: 10 } });
    for (const url of members) agent.get(url).intercept({ path: '/config' }).reply(200, '<html>login</html>');
    const unreadable = await client().readSettings({ name: 'c', members });
    expect(unreadable.ok).toBe(false);
    expect(!unreadable.ok && unreadable.note).toMatch(
      /^\/config unreadable: http:\/\/10\.0\.0\.4:8008\/config answered HTTP 200 with a body that is not JSON/,
    );
  });

  it('reads /config with a poll only when asked, from another member when the first does not give it', async () => {
    const healthyReplies = () => {
      for (const url of members) agent.get(url).intercept({ path: '/patroni' }).reply(200, JSON.stringify(v3.patroni_replica_running));
      agent.get(members[0]!).intercept({ path: '/cluster' }).reply(200, JSON.stringify(cluster));
    };
    healthyReplies();
    // Not asked: no /config request (MockAgent would refuse one that has no interceptor).
    expect((await client().observe({ name: 'c', members }, { timeline: 2 })).settings).toBeUndefined();
    healthyReplies();
    agent.get(members[0]!).intercept({ path: '/config' }).reply(503, 'no');
    agent
      .get(members[1]!)
      .intercept({ path: '/config' })
      .reply(200, JSON.stringify({ ttl: 30, loop_wait: 10, synchronous_mode: true }));
    const observation = await client().observe({ name: 'c', members }, { timeline: 2, readSettings: true });
    expect(observation.settings).toMatchObject({ ttl: 30, loopWait: 10, synchronousMode: 'on', flat: { synchronous_mode: 'true' } });
  });

  it("finds the running leader's own PostgreSQL address in /cluster, or says there is none yet", async () => {
    const view = {
      members: [
        { name: 'pg_node1', role: 'replica', state: 'running', host: '10.0.0.4', port: 5432, timeline: 3 },
        { name: 'pg_node2', role: 'leader', state: 'running', host: '10.0.0.5', port: 5432, timeline: 3 },
      ],
    };
    agent.get(members[0]!).intercept({ path: '/cluster' }).reply(200, JSON.stringify(view));
    expect(await client().leaderAddress({ name: 'c', members })).toEqual({
      ok: true,
      value: { member: 'pg_node2', host: '10.0.0.5', port: 5432 },
    });
    const promoting = { members: [{ ...view.members[1], state: 'starting' }] };
    agent.get(members[0]!).intercept({ path: '/cluster' }).reply(200, JSON.stringify(promoting));
    expect(await client().leaderAddress({ name: 'c', members })).toEqual({ ok: false, note: '/cluster names no running leader yet' });
  });
});
