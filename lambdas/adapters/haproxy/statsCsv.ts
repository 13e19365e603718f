import type { HaproxyRouting, Observed } from '../../domain/anatomy.js';
import type { MemberAddress } from '../../domain/ports.js';
import { neutralise } from '../../domain/text.js';

/** One server row of HAProxy's stats CSV, the fields the anatomy reads. */
export interface StatsServer {
  readonly proxy: string;
  readonly name: string;
  /** `ip:port` (the `addr` column, HAProxy ≥ 1.7); null where the version has none. */
  readonly address: string | null;
  /** `UP`, `DOWN`, `UP 1/3`, `NOLB`, `MAINT`... */
  readonly status: string;
  /** Seconds since the server's last status change. */
  readonly lastChangeSeconds: number | null;
}

const MAX_ROWS = 10_000;

/**
 * Parses HAProxy's `;csv` stats (`# pxname,svname,...` header, one row per frontend, server and backend).
 * Returns a reason instead of rows when the body is not that CSV (an HTML page, a login form, a proxy's error).
 */
export function parseStatsCsv(text: string): Observed<StatsServer[]> {
  const lines = text.split('\n', MAX_ROWS + 1);
  const header = lines[0]?.trim() ?? '';
  if (!header.startsWith('# pxname,svname,')) {
    const looksHtml = /^\s*</.test(text);
    return {
      ok: false,
      note: looksHtml
        ? 'answered HTML, not the CSV stats (is `;csv` reachable at that URL?)'
        : 'answered something that is not HAProxy CSV stats',
    };
  }
  const columns = header.slice(2).split(',');
  const at = (name: string) => columns.indexOf(name);
  const [px, sv, status, lastchg, addr] = [at('pxname'), at('svname'), at('status'), at('lastchg'), at('addr')];
  if (status < 0 || lastchg < 0) return { ok: false, note: 'the CSV stats have no status or lastchg column' };
  const servers = lines
    .slice(1)
    .map((line) => line.split(','))
    .filter((cells) => cells.length >= columns.length - 1 && cells[sv] !== 'FRONTEND' && cells[sv] !== 'BACKEND' && cells[sv])
    .map(
      (cells): StatsServer => ({
        proxy: cells[px] ?? '',
        name: cells[sv] ?? '',
        address: addr >= 0 && cells[addr] ? cells[addr]! : null,
        status: cells[status] ?? '',
        lastChangeSeconds: /^\d{1,10}$/.test(cells[lastchg] ?? '') ? Number(cells[lastchg]) : null,
      }),
    );
  return { ok: true, value: servers };
}

/** HAProxy sends a server connections while its status is `UP`, and still while it fails checks (`UP 1/3`). */
export function receivesConnections(status: string): boolean {
  return status.startsWith('UP');
}

/**
 * When HAProxy marked the leader's server UP: the server is matched by its address (`addr`) or, where the
 * version has no address column, by the member's name (Patroni's sample names servers after members).
 */
export function routingFromStats(servers: readonly StatsServer[], leader: MemberAddress, fetchedAt: number): Observed<HaproxyRouting> {
  const address = `${leader.host}:${leader.port}`;
  const server = servers.find((s) => s.address === address) ?? servers.find((s) => s.address === null && s.name === leader.member);
  if (!server) return { ok: false, note: `HAProxy has no server for ${leader.member} (${address})` };
  const name = neutralise(server.name).slice(0, 64);
  if (!receivesConnections(server.status))
    return { ok: false, note: `HAProxy server ${name} is ${neutralise(server.status).slice(0, 16)}, not UP` };
  if (server.lastChangeSeconds === null) return { ok: false, note: `HAProxy server ${name} has no lastchg` };
  return { ok: true, value: { upAt: fetchedAt - server.lastChangeSeconds * 1000, server: name } };
}
