import { createServer, type IncomingMessage, type Server } from 'node:http';

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
