import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { WriteErrorClass } from '../../domain/events.js';
import type { Clock, ProbeAttempt, VipTarget, WriteProber } from '../../domain/ports.js';
import { errorFields, isTlsRejection } from '../errorFields.js';

/** The only table the probe ever writes; created on first use where the role may create it. */
export const PROBE_TABLE = 'failover_probe';

/**
 * Longer than TCP's first SYN retransmission (1 s): while a VIP moves, a connection whose first SYN went to the
 * old host succeeds on the retransmit, as an application's would. Attempts overlap, so this does not coarsen
 * the measurement. (With 1 s, the VIP scenario counted such attempts as failures: restoredAt 0.7 s late.)
 */
const CONNECT_TIMEOUT_MS = 2_000;
const STATEMENT_TIMEOUT_MS = 2_000;

/**
 * A real write through the VIP with `pg`: a fresh connection each time (a pooled one could still point at the
 * old leader), `pg_is_in_recovery()` must be false, then one INSERT into the probe table that returns which
 * server took it, on which timeline.
 */
export class PgWriteProber implements WriteProber {
  constructor(private readonly clock: Clock = Date.now) {}

  async attempt(target: VipTarget, label: { cluster: string; triggerId: string }): Promise<ProbeAttempt> {
    const at = this.clock();
    const client = new pg.Client(connectionConfig(target));
    // A server that dies mid-connection emits 'error' on the client; without a listener Node would exit.
    client.on('error', () => undefined);
    try {
      await client.connect();
      const recovery = await client.query<{ in_recovery: boolean }>('SELECT pg_is_in_recovery() AS in_recovery');
      if (recovery.rows[0]?.in_recovery) {
        return {
          at,
          ok: false,
          errorClass: 'read_only',
          message: 'the VIP reached a server in recovery (a replica or a primary not yet promoted)',
        };
      }
      await ensureProbeTable(client);
      const result = await client.query<{ address: string | null; port: number | null; timeline: number | null }>(
        `INSERT INTO ${PROBE_TABLE} (cluster, trigger_id) VALUES ($1, $2)
         RETURNING host(inet_server_addr()) AS address, inet_server_port() AS port,
                   ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS timeline`,
        [label.cluster, label.triggerId],
      );
      const row = result.rows[0];
      return { at, ok: true, servedBy: { address: row?.address ?? null, port: row?.port ?? null, timeline: row?.timeline ?? null } };
    } catch (error) {
      return { at, ok: false, errorClass: classifyWriteError(error), message: describeWriteError(error, target) };
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

function connectionConfig(target: VipTarget): pg.ClientConfig {
  const ssl =
    target.sslMode === 'disable'
      ? false
      : target.sslMode === 'require'
        ? { rejectUnauthorized: false }
        : { rejectUnauthorized: true, ...(target.caFile ? { ca: readFileSync(target.caFile, 'utf8') } : {}) };
  return {
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password,
    ssl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS + 500,
    application_name: 'failover-write-probe',
  };
}

async function ensureProbeTable(client: pg.Client): Promise<void> {
  const exists = await client.query<{ oid: string | null }>(`SELECT to_regclass($1) AS oid`, [PROBE_TABLE]);
  if (exists.rows[0]?.oid) return;
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${PROBE_TABLE} (
       id bigserial PRIMARY KEY,
       probed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
       cluster text NOT NULL,
       trigger_id text NOT NULL)`,
  );
}

/** The driver's message, except for a rejected certificate: that one says which setting to check. */
function describeWriteError(error: unknown, target: VipTarget): string {
  const err = errorFields(error);
  if (isTlsRejection(err.code)) {
    return `TLS: the server certificate was rejected (${err.code}: ${err.message}); check the VIP's caFile and that the certificate names ${target.host}`;
  }
  return err.message;
}

/** SQLSTATEs and socket errors, by what they mean for a client during a failover. */
export function classifyWriteError(error: unknown): WriteErrorClass {
  const { code, message } = errorFields(error);
  if (code === '28P01' || code === '28000') return 'authentication';
  if (code === '25006' || /read-only transaction/.test(message)) return 'read_only';
  if (
    code === '57P01' ||
    code === '57P02' ||
    code === 'ECONNRESET' ||
    /terminat|closed the connection|Connection terminated unexpectedly/i.test(message)
  ) {
    // "terminating connection due to administrator command" (57P01), or a socket closed mid-statement.
    if (/timeout/i.test(message)) return 'timeout';
    return 'terminated';
  }
  if (code === 'ECONNREFUSED' || code === '57P03' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'refused';
  if (code === '57014' || code === 'ETIMEDOUT' || /timeout/i.test(message)) return 'timeout';
  return 'other';
}
