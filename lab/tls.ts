import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { commandFailure } from './processes.js';

/** Where a lab's TLS material lives: a CA made for this lab alone, and one certificate for 127.0.0.1. */
export interface TlsFiles {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

export function tlsFiles(labDir: string): TlsFiles {
  const dir = join(labDir, 'tls');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
  };
}

function openssl(args: string[]): void {
  try {
    execFileSync('/usr/bin/openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  } catch (error) {
    throw new LabError(`openssl ${args[0]} failed: ${commandFailure(error)}`);
  }
}

/** A self-signed CA (ECDSA P-256, 7 days) and a key pair for this CA, for tests that bring their own "wrong" CA. */
export function makeCa(caCert: string, caKey: string, commonName: string): void {
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '7',
    '-subj',
    `/CN=${commonName}`,
    '-keyout',
    caKey,
    '-out',
    caCert,
  ]);
}

/**
 * Makes the lab's CA and a server certificate for 127.0.0.1 and localhost, used by every member's REST API and
 * PostgreSQL. The key belongs to the postgres user, mode 0600, as PostgreSQL demands.
 */
export function makeLabCertificates(labDir: string, owner: { uid: number; gid: number }): TlsFiles {
  const files = tlsFiles(labDir);
  mkdirSync(files.dir, { recursive: true, mode: 0o755 });
  makeCa(files.caCert, files.caKey, 'failover lab CA');
  const request = join(files.dir, 'server.csr');
  openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    files.serverKey,
    '-out',
    request,
  ]);
  const extensions = join(files.dir, 'server.ext');
  writeFileSync(extensions, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl([
    'x509',
    '-req',
    '-in',
    request,
    '-CA',
    files.caCert,
    '-CAkey',
    files.caKey,
    '-CAcreateserial',
    '-days',
    '7',
    '-extfile',
    extensions,
    '-out',
    files.serverCert,
  ]);
  chownSync(files.serverKey, owner.uid, owner.gid);
  chmodSync(files.serverKey, 0o600);
  return files;
}
