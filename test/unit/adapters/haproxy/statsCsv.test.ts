import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStatsCsv, routingFromStats } from '../../../../lambdas/adapters/haproxy/statsCsv.js';

/** HAProxy 2.6.12's `;csv` stats, recorded from the lab during a failover (pg_node3 the new leader). */
const RECORDED = readFileSync(join(import.meta.dirname, '../../../support/fixtures/haproxy/stats-2.6.csv'), 'utf8');
const leader = { member: 'pg_node3', host: '127.0.0.1', port: 31012 };

describe('Function: parseStatsCsv', () => {
  it("reads the servers of HAProxy 2.6's CSV, without frontends and backends", () => {
    const parsed = parseStatsCsv(RECORDED);
    if (!parsed.ok) throw new Error(parsed.note);
    expect(parsed.value.map((s) => [s.proxy, s.name, s.status, s.lastChangeSeconds, s.address])).toEqual([
      ['postgres', 'pg_node1', 'DOWN', 19, null],
      ['postgres', 'pg_node2', 'DOWN', 7, null],
      ['postgres', 'pg_node3', 'UP', 8, null],
    ]);
  });

  it('says why when the body is an HTML page or something else', () => {
    expect(parseStatsCsv('<!DOCTYPE html><html><body>Statistics Report</body></html>')).toEqual({
      ok: false,
      note: 'answered HTML, not the CSV stats (is `;csv` reachable at that URL?)',
    });
    expect(parseStatsCsv('{"error": "nope"}')).toEqual({ ok: false, note: 'answered something that is not HAProxy CSV stats' });
    expect(parseStatsCsv('# pxname,svname,weight\npostgres,pg_node1,1\n')).toEqual({
      ok: false,
      note: 'the CSV stats have no status or lastchg column',
    });
  });
});

describe('Function: routingFromStats', () => {
  const parsed = parseStatsCsv(RECORDED);
  const servers = parsed.ok ? parsed.value : [];

  it('times the UP of the leader from lastchg, matched by name where the CSV gives no address', () => {
    expect(routingFromStats(servers, leader, 100_000)).toEqual({ ok: true, value: { upAt: 92_000, server: 'pg_node3' } });
  });

  it('matches by address where the CSV gives one, whatever the server is called', () => {
    const named = [{ proxy: 'master', name: 'postgresql_10.0.0.6_5432', address: '10.0.0.6:5432', status: 'UP', lastChangeSeconds: 3 }];
    expect(routingFromStats(named, { member: 'db3', host: '10.0.0.6', port: 5432 }, 10_000)).toEqual({
      ok: true,
      value: { upAt: 7_000, server: 'postgresql_10.0.0.6_5432' },
    });
  });

  it('is not observed when the leader has no server, or its server is not UP', () => {
    expect(routingFromStats(servers, { ...leader, member: 'pg_node9' }, 0)).toEqual({
      ok: false,
      note: 'HAProxy has no server for pg_node9 (127.0.0.1:31012)',
    });
    expect(routingFromStats(servers, { ...leader, member: 'pg_node1' }, 0)).toEqual({
      ok: false,
      note: 'HAProxy server pg_node1 is DOWN, not UP',
    });
  });
});
