import { createServer, type IncomingMessage, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeSucceeds } from '../../lab/sql.js';

/** A local HTTP server standing in for Slack's Web API (chat.postMessage) or an incoming webhook. */
export class SlackStandIn {
  readonly requests: { path: string; headers: IncomingMessage['headers']; body: Record<string, unknown> }[] = [];
  /** Status codes to answer with, in order, before answering 200 (e.g. [429, 500]). */
  failures: number[] = [];
  /** Until this epoch ms, every request gets 503, as during a Slack outage. */
  unavailableUntil = 0;
  private server: Server | null = null;
  private counter = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk) => (raw += chunk));
      req.on('end', () => {
        const status = Date.now() < this.unavailableUntil ? 503 : this.failures.shift();
        if (status) {
          res.writeHead(status, status === 429 ? { 'retry-after': '1' } : {});
          res.end(status === 429 ? 'rate_limited' : 'internal_error');
          return;
        }
        this.requests.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(raw || '{}') });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, ts: `1700000000.${String(++this.counter).padStart(6, '0')}` }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** The event id each message carries in its context block. */
  eventIds(): string[] {
    return this.requests.map((r) => {
      const blocks = r.body.blocks as { type: string; elements?: { text: string }[] }[];
      const context = blocks.find((b) => b.type === 'context')?.elements?.[0]?.text ?? '';
      return /`([^`]+)`/.exec(context)?.[1] ?? '';
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * An independent client writing through the VIP every 100 ms on fresh connections, as an application would:
 * the yardstick the pipeline's own outage measurement is checked against.
 */
export class IndependentWriter {
  readonly attempts: { at: number; ok: boolean; ms: number }[] = [];
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly port: number, private readonly host?: string) {}

  /**
   * Starts a write every 100 ms whether or not the previous one has finished (at most 40 in flight), as many
   * application clients would: a connection that HAProxy holds for seconds does not blind the writer.
   */
  start(maxSeconds = 300): void {
    this.running = true;
    const stopAt = Date.now() + maxSeconds * 1000;
    const inFlight = new Set<Promise<void>>();
    this.loop = (async () => {
      while (this.running && Date.now() < stopAt) {
        const at = Date.now();
        if (inFlight.size < 40) {
          const write: Promise<void> = writeSucceeds(this.port, this.host).then((ok) => {
            this.attempts.push({ at, ok, ms: Date.now() - at });
            inFlight.delete(write);
          });
          inFlight.add(write);
        }
        const wait = at + 100 - Date.now();
        if (wait > 0) await sleep(wait);
      }
      await Promise.all([...inFlight]);
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** The outage after `since`: from the first failed write to the first good write started after it (null if none failed). */
  outageAfter(since: number): WriterOutage | null {
    return writerOutage(this.attempts, since);
  }
}

export interface WriterOutage {
  readonly start: number;
  readonly end: number;
  readonly seconds: number;
}

/** From a writer's attempts: the first failed write after `since` to the first good write started after it. */
export function writerOutage(attempts: readonly { at: number; ok: boolean }[], since: number): WriterOutage | null {
  const later = attempts.filter((a) => a.at >= since).sort((a, b) => a.at - b.at);
  const firstFail = later.find((a) => !a.ok);
  if (!firstFail) return null;
  const end = later.find((a) => a.ok && a.at > firstFail.at);
  if (!end) return null;
  return { start: firstFail.at, end: end.at, seconds: (end.at - firstFail.at) / 1000 };
}
