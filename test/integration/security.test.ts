import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labFailover } from '../../lab/faults.js';
import { labDown } from '../../lab/lab.js';
import { fastLabOptions, freshLab } from '../../lab/profiles.js';
import { labStateExists } from '../../lab/state.js';
import { LAB_CREDENTIALS } from '../../lab/templates.js';
import { makeCa, tlsFiles } from '../../lab/tls.js';
import { type LabOptions, labDirectory } from '../../lab/topology.js';
import { PatroniHttp } from '../../lambdas/adapters/patroni/http.js';
import { PatroniClient } from '../../lambdas/adapters/patroni/PatroniClient.js';
import { PgWriteProber } from '../../lambdas/adapters/postgres/PgWriteProber.js';
import type { ClusterTarget, VipTarget } from '../../lambdas/domain/ports.js';

const BASE = 26000;
const options: LabOptions = { ...fastLabOptions(4, BASE), tls: true };
const ca = () => tlsFiles(labDirectory(BASE)).caCert;
const memberUrls = options.ports.restApi.map((port) => `https://127.0.0.1:${port}`);
const probeUser = LAB_CREDENTIALS.probe;

function target(http: ClusterTarget['http']): ClusterTarget {
  return { name: 'secure', members: memberUrls, http };
}

function vip(overrides: Partial<VipTarget> = {}): VipTarget {
  return {
    host: '127.0.0.1',
    port: BASE,
    database: 'postgres',
    user: probeUser.username,
    password: probeUser.password,
    sslMode: 'verify-full',
    caFile: ca(),
    ...overrides,
  };
}

describe('Security on a lab with TLS (Patroni 4): REST API over HTTPS with basic auth, PostgreSQL over TLS, the probe role', () => {
  let wrongCa: string;

  beforeAll(async () => {
    await freshLab(options);
    const dir = mkdtempSync(join(tmpdir(), 'wrong-ca-'));
    wrongCa = join(dir, 'ca.crt');
    makeCa(wrongCa, join(dir, 'ca.key'), 'some other CA');
  });

  afterAll(async () => {
    if (labStateExists(BASE)) await labDown(BASE);
  });

  it('the poller reads every member over HTTPS, verifying the certificate against the configured CA', async () => {
    // Prepare
    const client = new PatroniClient(Date.now, { timeoutMs: 3_000 });
    // Act
    const observation = await client.observe(target({ timeoutMs: 3_000, caFile: ca(), basicAuth: LAB_CREDENTIALS.restApi }), null);
    await client.close();
    // Assess
    expect(observation.members.map((m) => m.status)).toEqual(['ok', 'ok', 'ok']);
    expect(observation.view?.members.filter((m) => m.role === 'leader')).toHaveLength(1);
  });

  it('a certificate from another CA is refused, each member with an error that says what to check', async () => {
    // Prepare
    const client = new PatroniClient(Date.now, { timeoutMs: 3_000 });
    // Act
    const observation = await client.observe(target({ timeoutMs: 3_000, caFile: wrongCa }), null);
    await client.close();
    // Assess: nothing trusted, nothing parsed, and the message names the setting.
    expect(observation.members.map((m) => m.status)).toEqual(['unreachable', 'unreachable', 'unreachable']);
    for (const member of observation.members) {
      expect(member.status === 'ok' ? '' : member.error).toMatch(
        /TLS certificate rejected \(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE\).*patroni\.caFile/,
      );
    }
    expect(observation.view).toBeNull();
  });

  it('unsafe endpoints need the basic-auth credentials: a switchover without them gets 401, with them it happens', async () => {
    // Prepare
    const anonymous = new PatroniHttp({ timeoutMs: 3_000, caFile: ca() });
    // Act
    const refused = await anonymous.send('POST', `${memberUrls[0]}/switchover`, { leader: 'pg_node1' });
    await anonymous.close();
    const done = await labFailover(BASE, 'switchover');
    // Assess
    expect(refused.status).toBe(401);
    expect(done.newLeader).not.toBe(done.oldLeader);
    expect(done.newTimeline).toBe(done.oldTimeline + 1);
  });

  it('the write probe writes through HAProxy as its own role with sslmode=verify-full', async () => {
    // Act: right after the previous test's switchover (labFailover returns once HAProxy routes to the new leader alone).
    const attempt = await new PgWriteProber().attempt(vip(), { cluster: 'secure', triggerId: 'tls-test' });
    // Assess
    expect(attempt.message ?? '').toBe('');
    expect(attempt.ok).toBe(true);
    expect(options.ports.postgres).toContain(attempt.servedBy?.port);
  });

  it('the probe refuses a server certificate from another CA, and the server refuses the probe role without TLS', async () => {
    // Act
    const wrong = await new PgWriteProber().attempt(vip({ caFile: wrongCa }), { cluster: 'secure', triggerId: 'tls-test' });
    const plain = await new PgWriteProber().attempt(vip({ sslMode: 'disable' }), { cluster: 'secure', triggerId: 'tls-test' });
    // Assess
    expect(wrong.ok).toBe(false);
    expect(wrong.message).toMatch(/TLS: the server certificate was rejected .*caFile/);
    expect(plain.ok).toBe(false);
    expect(plain.errorClass).toBe('authentication');
    expect(plain.message).toMatch(/no encryption|pg_hba\.conf rejects/);
  });

  it('the probe role can insert into and read its probe table and do nothing else', async () => {
    // Prepare
    const client = new pg.Client({
      host: '127.0.0.1',
      port: BASE,
      database: 'postgres',
      user: probeUser.username,
      password: probeUser.password,
      ssl: { ca: readFileSync(ca(), 'utf8') },
      connectionTimeoutMillis: 3_000,
    });
    client.on('error', () => undefined);
    await client.connect();
    const sqlState = async (sql: string) =>
      client.query(sql).then(
        () => 'ok',
        (error: { code?: string }) => error.code,
      );
    try {
      // Act and assess: what it may do.
      expect(await sqlState("INSERT INTO failover_probe (cluster, trigger_id) VALUES ('secure', 'privileges')")).toBe('ok');
      expect(await sqlState('SELECT count(*) FROM failover_probe')).toBe('ok');
      // And what it may not (42501 insufficient_privilege, 42501 for ownership too).
      const denied = {
        update: await sqlState("UPDATE failover_probe SET cluster = 'x'"),
        delete: await sqlState('DELETE FROM failover_probe'),
        truncate: await sqlState('TRUNCATE failover_probe'),
        drop: await sqlState('DROP TABLE failover_probe'),
        create: await sqlState('CREATE TABLE probe_was_here (id int)'),
        otherTable: await sqlState('SELECT * FROM lab_write_check LIMIT 1'),
        catalogSecrets: await sqlState('SELECT rolpassword FROM pg_authid LIMIT 1'),
        createRole: await sqlState('CREATE ROLE sneaky'),
      };
      expect(denied).toEqual({
        update: '42501',
        delete: '42501',
        truncate: '42501',
        drop: '42501',
        create: '42501',
        otherTable: '42501',
        catalogSecrets: '42501',
        createRole: '42501',
      });
    } finally {
      await client.end();
    }
  });
});
