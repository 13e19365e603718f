import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PatroniHttp } from '../../lambdas/adapters/patroni/http.js';
import { PatroniClient } from '../../lambdas/adapters/patroni/PatroniClient.js';
import { answerThenStall } from '../support/standIns.js';

/** Misbehaving "Patroni" members on loopback, one path each. */
function hostile(res: ServerResponse, path: string, live: Set<ServerResponse>): void {
  live.add(res);
  res.on('close', () => live.delete(res));
  switch (path) {
    case '/dribble': {
      // One byte every 300 ms: never done within a 1 s budget.
      res.writeHead(200, { 'content-type': 'application/json' });
      let n = 0;
      const timer = setInterval(() => (res.destroyed || n++ > 40 ? clearInterval(timer) : res.write(' ')), 300);
      return;
    }
    case '/endless': {
      // Streams JSON for ever (until the client goes away, or 64 MiB at most).
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      let sent = 0;
      const chunk = '"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",'.repeat(1000);
      const pump = () => {
        while (!res.destroyed && sent < 64 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    case '/invalid-utf8':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.from([0x7b, 0x22, 0x72, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]));
      return;
    case '/deep':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
      return;
    case '/answer-then-stall':
      answerThenStall(res, 'application/json', '{"state":"running"}');
      return;
    case '/headers-never':
      return; // accepts, never answers
    default:
      res.writeHead(404);
      res.end();
  }
}

describe('Hostile Patroni peers on loopback', () => {
  let server: Server;
  let base: string;
  const live = new Set<ServerResponse>();

  beforeAll(async () => {
    // The first path segment picks the behaviour, so `${base}/dribble` works as a member's base URL too.
    server = createServer((req, res) => hostile(res, `/${(req.url ?? '').split('/')[1]}`, live));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const res of live) res.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const http = () => new PatroniHttp({ timeoutMs: 1_000, maxBodyBytes: 1024 * 1024 });

  it('gives up on a reply that dribbles bytes at the timeout, not later', async () => {
    const started = Date.now();
    const reply = await http().getJson(`${base}/dribble`);
    expect(reply).toMatchObject({ ok: false, failure: 'timeout' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('stops reading an endless body at the size cap, with memory bounded', async () => {
    const before = process.memoryUsage().rss;
    const reply = await http().getJson(`${base}/endless`);
    expect(reply).toMatchObject({ ok: false, failure: 'invalid_reply' });
    expect(!reply.ok && reply.message).toContain('more than 1048576 bytes');
    expect((process.memoryUsage().rss - before) / 1024 / 1024).toBeLessThan(64);
  });

  it('refuses invalid UTF-8', async () => {
    expect(await http().getJson(`${base}/invalid-utf8`)).toMatchObject({
      ok: false,
      failure: 'invalid_reply',
      message: expect.stringContaining('UTF-8'),
    });
  });

  it('survives JSON nested 200,000 deep (the parser refuses it, the process lives)', async () => {
    const reply = await http().getJson(`${base}/deep`);
    // JSON.parse either copes or throws RangeError; either way the member gets a status, not a crash.
    if (reply.ok) expect(Array.isArray(reply.body)).toBe(true);
    else expect(reply.failure).toBe('invalid_reply');
  });

  it('reads a reply that arrived in time though the loop was too busy to read it before the timeout fell due', async () => {
    const reply = await new PatroniHttp({ timeoutMs: 300 }).getJson(`${base}/answer-then-stall`);
    expect(reply).toEqual({ ok: true, status: 200, body: { state: 'running' } });
  });

  it('records a member that never sends headers as a timeout, and still observes the cluster', async () => {
    const client = new PatroniClient(Date.now, { timeoutMs: 1_000 });
    const observation = await client.observe({ name: 'hostile', members: [`${base}/headers-never`, `${base}/dribble`] }, null);
    await client.close();
    expect(observation.members.map((m) => m.status)).toEqual(['timeout', 'timeout']);
    expect(observation.view).toBeNull();
  });
});
