import { readFileSync } from 'node:fs';
import { type Dispatcher, request } from 'undici';
import type { ReadFailure } from '../../domain/model.js';
import type { PatroniAccess } from '../../domain/ports.js';
import { neutralise, redactCredentials } from '../../domain/text.js';
import { errorFields, isTlsRejection } from '../errorFields.js';
import { BACKSTOP_MS, timeoutAfterPendingIo } from '../timeouts.js';
import { ClientPerMember } from './clientPerMember.js';

export type JsonReply =
  | { readonly ok: true; readonly status: number; readonly body: unknown }
  | { readonly ok: false; readonly failure: ReadFailure; readonly message: string };

const DEFAULT_TIMEOUT_MS = 3_000;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * GETs JSON from Patroni's REST API and never throws: every outcome is a value the poller can record.
 * Health endpoints answer 503 with a full JSON body, so any status with a JSON body counts as a reply.
 */
export class PatroniHttp {
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly authorization: string | undefined;
  private readonly dispatcher: Dispatcher;

  constructor(options: PatroniAccess = {}, dispatcher?: Dispatcher) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.authorization = options.basicAuth
      ? `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64')}`
      : undefined;
    this.dispatcher =
      dispatcher ??
      new ClientPerMember({
        connect: {
          timeout: this.timeoutMs,
          ...(options.caFile ? { ca: readFileSync(options.caFile, 'utf8'), rejectUnauthorized: true } : {}),
        },
        // Backstops only: undici's own timers fire before the I/O that is already waiting (see timeoutAfterPendingIo).
        headersTimeout: this.timeoutMs + BACKSTOP_MS,
        bodyTimeout: this.timeoutMs + BACKSTOP_MS,
        keepAliveTimeout: 10_000,
        maxResponseSize: this.maxBodyBytes,
      });
  }

  async getJson(url: string): Promise<JsonReply> {
    const { signal, clear } = timeoutAfterPendingIo(this.timeoutMs);
    try {
      const response = await request(url, {
        method: 'GET',
        dispatcher: this.dispatcher,
        signal,
        headers: { accept: 'application/json', ...(this.authorization ? { authorization: this.authorization } : {}) },
      });
      if (!isStatusReply(response.statusCode, url)) {
        await response.body.dump().catch(() => undefined);
        return invalid(`${url} answered HTTP ${response.statusCode}: only a 2xx reply (or a health endpoint's 503) is read as a status`);
      }
      const text = await this.readCapped(response.body, url);
      if (typeof text !== 'string') return text;
      return parseJson(text, response.statusCode, url);
    } catch (error) {
      if (errorFields(error).code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return this.tooLarge(url);
      const failed = classifyError(error, url, this.timeoutMs);
      return failed.ok ? failed : { ...failed, message: redactCredentials(failed.message) };
    } finally {
      clear();
    }
  }

  /** Sends a JSON body (switchover, failover, config); used by the lab, not by the poller. */
  async send(method: 'POST' | 'PATCH', url: string, body: unknown): Promise<{ status: number; text: string }> {
    const response = await request(url, {
      method,
      dispatcher: this.dispatcher,
      // Switchover blocks until Patroni has finished or given up (2 * max(10, loop_wait) s).
      signal: AbortSignal.timeout(Math.max(this.timeoutMs, 60_000)),
      headersTimeout: 60_000,
      headers: { 'content-type': 'application/json', ...(this.authorization ? { authorization: this.authorization } : {}) },
      body: JSON.stringify(body),
    });
    return { status: response.statusCode, text: await response.body.text() };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /**
   * The whole body at once: the default dispatcher stops reading at the cap (`maxResponseSize`), so an endless body costs
   * no more than the cap; the length check covers a dispatcher passed in. Reading it chunk by chunk through an async
   * iterator cost a fifth of a 1,000-cluster round.
   */
  private async readCapped(body: Dispatcher.ResponseData['body'], url: string): Promise<string | JsonReply> {
    const bytes = await body.bytes();
    if (bytes.length > this.maxBodyBytes) return this.tooLarge(url);
    try {
      return UTF8.decode(bytes);
    } catch {
      return invalid(`${url} sent a body that is not valid UTF-8`);
    }
  }

  private tooLarge(url: string): JsonReply {
    return invalid(`${url} sent more than ${this.maxBodyBytes} bytes; a Patroni reply is never that large`);
  }
}

/** Not streaming, so one decoder serves every reply. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Patroni's health endpoints: they answer 503 with the full `/patroni` body when the check fails. */
const HEALTH_ENDPOINTS = new Set([
  '/',
  '/primary',
  '/master',
  '/read-write',
  '/leader',
  '/standby-leader',
  '/standby_leader',
  '/replica',
  '/read-only',
  '/sync',
  '/synchronous',
  '/async',
  '/asynchronous',
  '/health',
  '/liveness',
  '/readiness',
]);

/**
 * A body is a member's status only when the status code says it is: any 2xx, or 503 from a health endpoint. A
 * redirect, a proxy's error page or a 404 with a JSON body that happens to look like `/patroni` is not.
 */
function isStatusReply(status: number, url: string): boolean {
  if (status >= 200 && status < 300) return true;
  return status === 503 && HEALTH_ENDPOINTS.has(new URL(url).pathname.replace(/(.)\/$/, '$1'));
}

function parseJson(text: string, status: number, url: string): JsonReply {
  try {
    return { ok: true, status, body: JSON.parse(text) };
  } catch {
    const preview = neutralise(text.slice(0, 80).replace(/\s+/g, ' '));
    return invalid(`${url} answered HTTP ${status} with a body that is not JSON: "${preview}"`);
  }
}

function invalid(message: string): JsonReply {
  return { ok: false, failure: 'invalid_reply', message: redactCredentials(message) };
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Maps undici/Node errors to a member status with a message that says what to check. */
function classifyError(error: unknown, url: string, timeoutMs: number): JsonReply {
  const err = errorFields(error);
  const { code } = err;
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || TIMEOUT_CODES.has(code)) {
    return { ok: false, failure: 'timeout', message: `${url} did not answer within ${timeoutMs} ms` };
  }
  if (isTlsRejection(code)) {
    return {
      ok: false,
      failure: 'unreachable',
      message: `${url}: TLS certificate rejected (${code}); check the cluster's patroni.caFile and the certificate's host name`,
    };
  }
  if (code === 'ECONNREFUSED') return { ok: false, failure: 'unreachable', message: `${url}: connection refused` };
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') {
    // Patroni closes without a reply when its DCS is unreachable (/cluster, /history) or while it shuts down.
    return { ok: false, failure: 'unreachable', message: `${url}: connection closed without a reply` };
  }
  if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_URL') {
    return { ok: false, failure: 'invalid_reply', message: `${url}: ${err.message}` };
  }
  const detail = code ? `${code}: ${err.causeMessage ?? err.message}` : err.message;
  return { ok: false, failure: 'unreachable', message: `${url}: ${detail}` };
}
