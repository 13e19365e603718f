import { Agent, request } from 'undici';
import type { HaproxyRouting, Observed } from '../../domain/anatomy.js';
import type { Clock, HaproxyStatsReader, MemberAddress } from '../../domain/ports.js';
import { redactCredentials } from '../../domain/text.js';
import { errorFields } from '../errorFields.js';
import { BACKSTOP_MS, timeoutAfterPendingIo } from '../timeouts.js';
import { parseStatsCsv, routingFromStats } from './statsCsv.js';

const TIMEOUT_MS = 2_000;
/** A stats page for a few hundred servers is tens of KiB. */
const MAX_BODY_BYTES = 1024 * 1024;

/** The stats page's CSV URL: HAProxy serves it at the stats URI with `;csv` appended. */
export function csvUrl(statsUrl: string): string {
  return statsUrl.endsWith(';csv') ? statsUrl : `${statsUrl};csv`;
}

/** Reads HAProxy's stats CSV over HTTP with a timeout that ends the whole request; never throws. */
export class HaproxyStats implements HaproxyStatsReader {
  private readonly dispatcher: Agent;

  constructor(
    private readonly clock: Clock = Date.now,
    private readonly timeoutMs = TIMEOUT_MS,
  ) {
    // undici's header and body timeouts are backstops: they fire before the I/O already waiting (see timeoutAfterPendingIo).
    const backstop = timeoutMs + BACKSTOP_MS;
    this.dispatcher = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: backstop, bodyTimeout: backstop });
  }

  async routingTo(statsUrl: string, leader: MemberAddress): Promise<Observed<HaproxyRouting>> {
    const url = csvUrl(statsUrl);
    const where = redactCredentials(url);
    const { signal, clear } = timeoutAfterPendingIo(this.timeoutMs);
    try {
      const response = await request(url, { dispatcher: this.dispatcher, signal });
      if (response.statusCode !== 200) {
        await response.body.dump().catch(() => undefined);
        return { ok: false, note: `HAProxy stats at ${where} answered HTTP ${response.statusCode}` };
      }
      const text = await readCapped(response.body);
      if (text === null) return { ok: false, note: `HAProxy stats at ${where} sent more than ${MAX_BODY_BYTES} bytes` };
      const servers = parseStatsCsv(text);
      if (!servers.ok) return { ok: false, note: `HAProxy stats at ${where} ${servers.note}` };
      return routingFromStats(servers.value, leader, this.clock());
    } catch (error) {
      const { code, message } = errorFields(error);
      return { ok: false, note: `HAProxy stats at ${where} unreadable: ${redactCredentials(code || message)}` };
    } finally {
      clear();
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

async function readCapped(body: AsyncIterable<Buffer | Uint8Array> & { destroy(): void }): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      return null;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}
