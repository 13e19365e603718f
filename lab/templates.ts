import { stringify } from 'yaml';
import type { TlsFiles } from './tls.js';
import { LAB_HAPROXY_CHECKS, type LabOptions, MEMBER_NAMES } from './topology.js';

/**
 * Lab-only credentials. The lab listens on 127.0.0.1 only and is thrown away by `lab down`;
 * they are never printed (see `redact` users in the CLI).
 */
export const LAB_CREDENTIALS = {
  superuser: { username: 'postgres', password: 'lab-superuser-secret' },
  replication: { username: 'replicator', password: 'lab-replication-secret' },
  rewind: { username: 'rewind_user', password: 'lab-rewind-secret' },
  /** Basic auth on the REST API's unsafe endpoints (switchover, config), when the lab runs with TLS. */
  restApi: { username: 'patroni', password: 'lab-restapi-secret' },
  /** The write probe's own role: it may insert into and read its probe table, nothing else. */
  probe: { username: 'failover_probe', password: 'lab-probe-secret' },
} as const;

export const LAB_HOST = '127.0.0.1';

export interface MemberPaths {
  readonly dir: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly logFile: string;
}

export function patroniConfig(options: LabOptions, memberIndex: number, paths: MemberPaths, tls: TlsFiles | null): string {
  const name = MEMBER_NAMES[memberIndex]!;
  const pgPort = options.ports.postgres[memberIndex]!;
  const restPort = options.ports.restApi[memberIndex]!;
  const { ttl, loopWait, retryTimeout } = options.timings;
  const config = {
    scope: options.scope,
    name,
    restapi: {
      listen: `${LAB_HOST}:${restPort}`,
      connect_address: `${LAB_HOST}:${restPort}`,
      ...(tls
        ? { certfile: tls.serverCert, keyfile: tls.serverKey, cafile: tls.caCert, authentication: { ...LAB_CREDENTIALS.restApi } }
        : {}),
    },
    // Patroni's own calls to the other members' REST API (and patronictl) trust the lab's CA.
    ...(tls ? { ctl: { cacert: tls.caCert } } : {}),
    // etcd 3.4 ships with its v2 API off: the etcd3 section talks to the v3 gRPC gateway.
    etcd3: { hosts: [`${LAB_HOST}:${options.ports.etcdClient}`] },
    bootstrap: {
      dcs: {
        ttl,
        loop_wait: loopWait,
        retry_timeout: retryTimeout,
        maximum_lag_on_failover: 1_048_576,
        // Patroni 3.x reads master_start_timeout, 4.x primary_start_timeout; both accept the new name since 3.0.
        primary_start_timeout: options.timings.primaryStartTimeout,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            wal_level: 'replica',
            hot_standby: 'on',
            wal_log_hints: 'on',
            max_wal_senders: 10,
            max_replication_slots: 10,
            wal_keep_size: '64MB',
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }, 'data-checksums'],
    },
    postgresql: {
      listen: `${LAB_HOST}:${pgPort}`,
      connect_address: `${LAB_HOST}:${pgPort}`,
      data_dir: paths.dataDir,
      bin_dir: '/usr/lib/postgresql/15/bin',
      pgpass: `${paths.dir}/pgpass`,
      authentication: { superuser: LAB_CREDENTIALS.superuser, replication: LAB_CREDENTIALS.replication, rewind: LAB_CREDENTIALS.rewind },
      parameters: {
        unix_socket_directories: paths.dir,
        shared_buffers: '16MB',
        max_connections: 50,
        listen_addresses: LAB_HOST,
        ...(tls ? { ssl: 'on', ssl_cert_file: tls.serverCert, ssl_key_file: tls.serverKey, ssl_ca_file: tls.caCert } : {}),
      },
      pg_hba: [
        'local all all trust',
        // The probe role over TLS only, when the lab has it: a probe with sslmode=disable is refused.
        ...(tls
          ? [
              `hostssl all ${LAB_CREDENTIALS.probe.username} ${LAB_HOST}/32 scram-sha-256`,
              `hostnossl all ${LAB_CREDENTIALS.probe.username} ${LAB_HOST}/32 reject`,
            ]
          : []),
        `host replication ${LAB_CREDENTIALS.replication.username} ${LAB_HOST}/32 scram-sha-256`,
        `host all all ${LAB_HOST}/32 scram-sha-256`,
      ],
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
  return stringify(config);
}

/** The guide's HAProxy: TCP on the VIP port, routed to whichever node answers 200 on Patroni's `/primary`. */
export function haproxyConfig(options: LabOptions, tls: TlsFiles | null, bindAddress: string = LAB_HOST): string {
  const inter = options.timings.haproxyInterSeconds;
  // With TLS on the REST API, the health check speaks HTTPS and verifies the members' certificate.
  const checkTls = tls ? ` check-ssl verify required ca-file ${tls.caCert}` : '';
  const servers = MEMBER_NAMES.map(
    (name, i) =>
      `    server ${name} ${LAB_HOST}:${options.ports.postgres[i]} maxconn 100 check port ${options.ports.restApi[i]}${checkTls}`,
  );
  return [
    'global',
    '    maxconn 200',
    'defaults',
    '    mode tcp',
    '    retries 2',
    '    timeout client 30m',
    '    timeout connect 4s',
    '    timeout server 30m',
    '    timeout check 5s',
    'listen stats',
    '    mode http',
    `    bind ${LAB_HOST}:${options.ports.haproxyStats}`,
    '    stats enable',
    '    stats uri /',
    'listen postgres',
    `    bind ${bindAddress}:${options.ports.haproxy}`,
    '    option httpchk OPTIONS /primary',
    '    http-check expect status 200',
    `    default-server inter ${inter}s fall ${LAB_HAPROXY_CHECKS.fall} rise ${LAB_HAPROXY_CHECKS.rise} on-marked-down shutdown-sessions`,
    ...servers,
    '',
  ].join('\n');
}
