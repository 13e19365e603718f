import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * Answers on time, then keeps this process's event loop busy past the client's timeout before the client can read
 * the reply (client and stand-in share the process): what a poller busy with a round of a thousand clusters, or a
 * local pipeline busy with a storm's notifications, does to a read whose answer has already arrived.
 */
export function answerThenStall(res: ServerResponse, contentType: string, body: string, busyMs = 600): void {
  res.writeHead(200, { 'content-type': contentType, connection: 'close' });
  res.end(body);
  const busyUntil = Date.now() + busyMs;
  while (Date.now() < busyUntil) {
    // busy: nothing runs, timers fall due
  }
}

/** A local HTTP server standing in for Slack's Web API (chat.postMessage) or an incoming webhook. */
export class SlackStandIn {
  readonly requests: { path: string; headers: IncomingMessage['headers']; body: Record<string, unknown>; replyTs: string; at: number }[] =
    [];
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
        const body = JSON.parse(raw || '{}');
        // chat.update answers with the message it edited; chat.postMessage with a new one, and the channel's id.
        const ts = req.url?.endsWith('/chat.update') ? body.ts : `1700000000.${String(++this.counter).padStart(6, '0')}`;
        this.requests.push({ path: req.url ?? '', headers: req.headers, body, replyTs: ts, at: Date.now() });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, ts, channel: 'C0ONCALL' }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** The event id each event message carries in its context block (parents and edits carry the incident's key instead). */
  eventIds(): string[] {
    return this.requests.flatMap((r) => {
      const id = /^event `([^`]+)`/.exec(contextOf(r.body))?.[1];
      return id ? [id] : [];
    });
  }

  /** Incident parent messages, as posted (`chat.postMessage` without a thread) and as edited (`chat.update`), by header. */
  parents(): { ts: string; edited: boolean; header: string }[] {
    return this.requests
      .filter((r) => (r.body.blocks as { type: string }[] | undefined)?.[0]?.type === 'header')
      .map((r) => ({
        ts: r.replyTs,
        edited: r.path.endsWith('/chat.update'),
        header: (r.body.blocks as { text: { text: string } }[])[0]!.text.text,
      }));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The text of a Slack message's context block: its event id, or an incident parent's key. */
function contextOf(body: Record<string, unknown>): string {
  const blocks = (body.blocks ?? []) as { type: string; elements?: { text: string }[] }[];
  return blocks.find((b) => b.type === 'context')?.elements?.[0]?.text ?? '';
}

/** The incident a Slack parent stands for, from its context line (`incident <key> · runbook`). */
export function incidentOfParent(body: Record<string, unknown>): string | undefined {
  return /^incident (\S+) ·/.exec(contextOf(body))?.[1];
}

/** One request the PagerDuty stand-in accepted. */
export interface PagerDutyReceived {
  readonly path: '/v2/enqueue' | '/v2/change/enqueue';
  /** Epoch ms the stand-in accepted it. */
  readonly at: number;
  readonly body: {
    routing_key: string;
    event_action?: 'trigger' | 'acknowledge' | 'resolve';
    dedup_key?: string;
    payload?: {
      summary: string;
      source: string;
      severity?: string;
      class?: string;
      group?: string;
      custom_details?: Record<string, unknown>;
    };
    links?: { href: string; text?: string }[];
  };
}

/**
 * A loopback server speaking PagerDuty's Events API v2: `POST /v2/enqueue` (trigger, acknowledge, resolve) and
 * `POST /v2/change/enqueue`, answering 202 `{"status":"success","message":"Event processed","dedup_key"}` the way
 * PagerDuty does, 400 `{"status":"invalid event","errors":[...]}` for a routing key it does not know or a malformed
 * event, and scripted 429 / 5xx answers first when told to.
 */
export class PagerDutyStandIn {
  readonly accepted: PagerDutyReceived[] = [];
  /** Status codes to answer with, in order, before accepting (e.g. [429, 502]). */
  failures: number[] = [];
  /** Retry-After of a scripted 429, in seconds. */
  retryAfterSeconds = 1;
  private server: Server | null = null;

  constructor(readonly routingKey: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk) => (raw += chunk));
      req.on('end', () => {
        const { status, body, headers } = this.answer(req, raw);
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/v2/enqueue`;
  }

  private answer(req: IncomingMessage, raw: string): { status: number; body: unknown; headers?: Record<string, string> } {
    const scripted = this.failures.shift();
    if (scripted === 429) {
      const body = { status: 'throttle event', message: 'Requests for this service are arriving too quickly.' };
      return { status: 429, body, headers: { 'retry-after': String(this.retryAfterSeconds) } };
    }
    if (scripted) return { status: scripted, body: { status: 'error' } };
    const path = req.url;
    if (req.method !== 'POST' || (path !== '/v2/enqueue' && path !== '/v2/change/enqueue'))
      return { status: 404, body: { status: 'not found' } };
    let body: PagerDutyReceived['body'];
    try {
      body = JSON.parse(raw);
    } catch {
      return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['Malformed JSON'] } };
    }
    const errors = this.problems(path, body);
    if (errors.length > 0) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
    this.accepted.push({ path, at: Date.now(), body });
    return {
      status: 202,
      body: { status: 'success', message: 'Event processed', ...(body.dedup_key ? { dedup_key: body.dedup_key } : {}) },
    };
  }

  private problems(path: string, body: PagerDutyReceived['body']): string[] {
    const errors: string[] = [];
    if (body.routing_key !== this.routingKey) errors.push("'routing_key' is invalid");
    if (path === '/v2/change/enqueue') {
      if (!body.payload?.summary) errors.push("'payload.summary' is missing or blank");
      return errors;
    }
    if (!['trigger', 'acknowledge', 'resolve'].includes(body.event_action ?? '')) errors.push("'event_action' is invalid");
    if (body.event_action === 'trigger') {
      if (!body.payload?.summary || body.payload.summary.length > 1024) errors.push("'payload.summary' is missing or over 1024 characters");
      if (!body.payload?.source) errors.push("'payload.source' is missing or blank");
      if (!['critical', 'error', 'warning', 'info'].includes(body.payload?.severity ?? '')) errors.push("'payload.severity' is invalid");
    } else if (!body.dedup_key) {
      errors.push("'dedup_key' is required for acknowledge and resolve");
    }
    return errors;
  }

  /** Trigger and resolve requests, as `action dedup_key` lines. */
  actions(): string[] {
    return this.accepted.map((r) =>
      r.path === '/v2/change/enqueue' ? `change ${r.body.payload?.source}` : `${r.body.event_action} ${r.body.dedup_key}`,
    );
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
