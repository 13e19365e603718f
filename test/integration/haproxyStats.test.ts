import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaproxyStats } from '../../lambdas/adapters/haproxy/HaproxyStats.js';
import { answerThenStall } from '../support/standIns.js';

/** HAProxy 2.6.12's own `;csv` reply, recorded from the lab. */
const RECORDED = readFileSync(join(import.meta.dirname, '../support/fixtures/haproxy/stats-2.6.csv'), 'utf8');
const leader = { member: 'pg_node3', host: '127.0.0.1', port: 31012 };

/**
 * A loopback stand-in for HAProxy's stats page, speaking its wire format: `GET <uri>;csv` answered with
 * `text/plain` CSV; and the ways a real one goes wrong behind a misconfigured URL.
 */
function statsStandIn(): Server {
  return createServer((req, res) => {
    switch (req.url) {
      case '/;csv':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(RECORDED);
        return;
      case '/html;csv':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!DOCTYPE html><html><head><title>Statistics Report for HAProxy</title></head><body></body></html>');
        return;
      case '/refusing;csv':
        res.writeHead(503, { 'content-type': 'text/html' });
        res.end('<html><body><h1>503 Service Unavailable</h1></body></html>');
        return;
      case '/huge;csv':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`# pxname,svname,status,lastchg\n${'x'.repeat(2 * 1024 * 1024)}`);
        return;
      case '/answer-then-stall;csv':
        answerThenStall(res, 'text/plain', RECORDED);
        return;
      default:
        // '/hang;csv': headers never come.
        return;
    }
  });
}

describe('Adapter: HaproxyStats against a wire-faithful stand-in', () => {
  const server = statsStandIn();
  let base = '';
  const stats = new HaproxyStats(() => 1_000_000);

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await stats.close();
  });

  it("times the leader's server UP from the stats CSV", async () => {
    expect(await stats.routingTo(`${base}/`, leader)).toEqual({ ok: true, value: { upAt: 1_000_000 - 8_000, server: 'pg_node3' } });
  });

  it('says what went wrong, and never throws: HTML, an error status, a huge body, a hang, a refused connection', async () => {
    const notes = await Promise.all(
      ['html', 'refusing', 'huge', 'hang'].map(async (path) => {
        const read = await stats.routingTo(`${base}/${path}`, leader);
        return read.ok ? 'observed' : read.note;
      }),
    );
    expect(notes).toEqual([
      `HAProxy stats at ${base}/html;csv answered HTML, not the CSV stats (is \`;csv\` reachable at that URL?)`,
      `HAProxy stats at ${base}/refusing;csv answered HTTP 503`,
      `HAProxy stats at ${base}/huge;csv sent more than 1048576 bytes`,
      `HAProxy stats at ${base}/hang;csv unreadable: timed out after 2000 ms`,
    ]);
    const closed = await stats.routingTo('http://127.0.0.1:1/', leader);
    expect(closed).toEqual({ ok: false, note: 'HAProxy stats at http://127.0.0.1:1/;csv unreadable: ECONNREFUSED' });
  });

  it('reads a reply that arrived in time though the loop was too busy to read it before the timeout fell due', async () => {
    const quick = new HaproxyStats(() => 1_000_000, 300);
    const read = await quick.routingTo(`${base}/answer-then-stall`, leader);
    await quick.close();
    expect(read).toEqual({ ok: true, value: { upAt: 1_000_000 - 8_000, server: 'pg_node3' } });
  });
});
