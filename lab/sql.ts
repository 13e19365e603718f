import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LAB_CREDENTIALS, LAB_HOST } from './templates.js';

/** Connection settings for the lab's superuser through any lab port (HAProxy's, or one member's, or a VIP's). */
export function labConnection(port: number, database = 'postgres', host: string = LAB_HOST): pg.ClientConfig {
  return {
    host,
    port,
    database,
    user: LAB_CREDENTIALS.superuser.username,
    password: LAB_CREDENTIALS.superuser.password,
    connectionTimeoutMillis: 2_000,
    statement_timeout: 3_000,
    query_timeout: 4_000,
  };
}

/** Where and how long `runSql` may take: the lab's host, and the driver's 3 s statement budget unless told. */
export interface SqlTarget {
  readonly host?: string;
  /** For statements meant to run long (the demo's client): the statement and query time-outs. */
  readonly statementTimeoutMs?: number;
}

/** Runs statements on one fresh connection, always closing it; throws the driver's error. */
export async function runSql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  port: number,
  statements: readonly string[],
  target: SqlTarget = {},
): Promise<pg.QueryResult<T> | undefined> {
  const budget = target.statementTimeoutMs
    ? { statement_timeout: target.statementTimeoutMs, query_timeout: target.statementTimeoutMs + 5_000 }
    : {};
  const client = new pg.Client({ ...labConnection(port, 'postgres', target.host), ...budget });
  // A dying server emits 'error' on an idle client; without a listener Node would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    let last: pg.QueryResult<T> | undefined;
    for (const sql of statements) last = await client.query<T>(sql);
    return last;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One write through the port, as a client would do it: true if it committed on a writable primary. */
export async function writeSucceeds(port: number, host: string = LAB_HOST): Promise<boolean> {
  try {
    await runSql(
      port,
      [
        'CREATE TABLE IF NOT EXISTS lab_write_check (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())',
        'INSERT INTO lab_write_check DEFAULT VALUES',
      ],
      { host },
    );
    return true;
  } catch {
    return false;
  }
}

/** True when a write through the port succeeds within `withinMs` (tries every 250 ms): writes "work again". */
export async function writesWorkWithin(port: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  do {
    if (await writeSucceeds(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  } while (Date.now() < deadline);
  return false;
}

/** The probe role's script that operators run (lambdas/adapters/postgres/probe-role.sql), with psql's variable filled in. */
export function probeRoleStatements(password: string): string[] {
  const script = readFileSync(join(import.meta.dirname, '..', 'lambdas', 'adapters', 'postgres', 'probe-role.sql'), 'utf8');
  const literal = `'${password.replace(/'/g, "''")}'`;
  return [script.replace(/^--.*$/gm, '').replace(":'probe_password'", literal)];
}

/** Creates the write probe's least-privilege role on the lab, as operators do with the same script. */
export async function createProbeRole(port: number): Promise<void> {
  await runSql(port, probeRoleStatements(LAB_CREDENTIALS.probe.password));
}
