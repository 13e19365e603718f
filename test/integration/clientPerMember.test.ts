import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PatroniHttp } from '../../lambdas/adapters/patroni/http.js';

/** A member that answers as Patroni's HTTP/1.0 server does: one reply per connection, then it closes. */
async function closingMember(port = 0): Promise<{ server: Server; base: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ state: 'running', path: req.url }));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

const stop = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('PatroniHttp over one undici Client per member', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => (s.listening ? stop(s) : undefined)));
  });

  it('reads every reply of members that close each connection, a new connection each time, and keeps members apart', async () => {
    const [a, b] = await Promise.all([closingMember(), closingMember()]);
    servers.push(a.server, b.server);
    const http = new PatroniHttp({ timeoutMs: 1_000 });
    for (let round = 0; round < 5; round++) {
      const [fromA, fromB] = await Promise.all([http.getJson(`${a.base}/patroni`), http.getJson(`${b.base}/cluster`)]);
      expect(fromA).toMatchObject({ ok: true, body: { path: '/patroni' } });
      expect(fromB).toMatchObject({ ok: true, body: { path: '/cluster' } });
    }
    await http.close();
    expect([a.connections(), b.connections()]).toEqual([5, 5]);
  });

  it('says a stopped member refuses, then reads it again once it is back on the same port', async () => {
    const first = await closingMember();
    const port = Number(new URL(first.base).port);
    const http = new PatroniHttp({ timeoutMs: 1_000 });
    expect(await http.getJson(`${first.base}/patroni`)).toMatchObject({ ok: true });
    await stop(first.server);
    expect(await http.getJson(`${first.base}/patroni`)).toMatchObject({
      ok: false,
      failure: 'unreachable',
      message: expect.stringContaining('connection refused'),
    });
    const again = await closingMember(port);
    servers.push(again.server);
    expect(await http.getJson(`${again.base}/patroni`)).toMatchObject({ ok: true, body: { state: 'running' } });
    await http.close();
  });

  it('closes every member client it opened, and a request after close fails as a value, not a throw', async () => {
    const member = await closingMember();
    servers.push(member.server);
    const http = new PatroniHttp({ timeoutMs: 1_000 });
    expect(await http.getJson(`${member.base}/patroni`)).toMatchObject({ ok: true });
    await http.close();
    const connectionsBefore = member.connections();
    expect(await http.getJson(`${member.base}/patroni`)).toMatchObject({ ok: false, message: expect.stringContaining('closed') });
    expect(member.connections()).toBe(connectionsBefore);
  });
});
