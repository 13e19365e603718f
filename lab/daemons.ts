// The lab's processes: etcd, each member's Patroni (as the postgres user), their files, and finding a member's
// PostgreSQL processes. `lab.ts` starts and stops whole labs with these; `faults.ts` kills and restarts parts.
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { commandLineMentions, isAlive, processTree, startDetached } from './processes.js';
import { LAB_HOST, type MemberPaths, patroniConfig } from './templates.js';
import type { TlsFiles } from './tls.js';
import { type LabOptions, MEMBER_NAMES } from './topology.js';

export const PATRONI_BINARIES = { 3: '/usr/bin/patroni', 4: join(import.meta.dirname, '..', '.venv', 'bin', 'patroni') } as const;

const POSTGRES_UID_GID = { uid: 101, gid: 104 };

export function memberPaths(dir: string, name: string): MemberPaths {
  const memberDir = join(dir, name);
  return {
    dir: memberDir,
    dataDir: join(memberDir, 'data'),
    configFile: join(memberDir, 'patroni.yml'),
    logFile: join(memberDir, 'patroni.log'),
  };
}

export function postgresIds(): { uid: number; gid: number } {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'));
    const [, , uid, gid] = line?.split(':') ?? [];
    if (uid && gid) return { uid: Number(uid), gid: Number(gid) };
  } catch {
    // Fall through to Debian's usual ids.
  }
  return POSTGRES_UID_GID;
}

export function startEtcd(options: LabOptions, dir: string): number {
  const { etcdClient, etcdPeer } = options.ports;
  return startDetached({
    command: '/usr/bin/etcd',
    args: [
      '--name',
      'lab',
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      `http://${LAB_HOST}:${etcdClient}`,
      '--advertise-client-urls',
      `http://${LAB_HOST}:${etcdClient}`,
      '--listen-peer-urls',
      `http://${LAB_HOST}:${etcdPeer}`,
      '--initial-advertise-peer-urls',
      `http://${LAB_HOST}:${etcdPeer}`,
      '--initial-cluster',
      `lab=http://${LAB_HOST}:${etcdPeer}`,
      '--listen-metrics-urls',
      '',
    ],
    logFile: join(dir, 'etcd.log'),
  });
}

/**
 * Starts one member's Patroni as the postgres user (PostgreSQL refuses root) with a clean environment:
 * a pyenv Python first on PATH would break Debian's Patroni.
 */
export function startPatroni(options: LabOptions, dir: string, name: string): number {
  const paths = memberPaths(dir, name);
  const { uid, gid } = postgresIds();
  return startDetached({
    command: '/usr/bin/setpriv',
    args: [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', PATRONI_BINARIES[options.patroni], paths.configFile],
    env: { PATH: '/usr/bin:/bin', HOME: paths.dir, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', PYTHONUNBUFFERED: '1' },
    cwd: paths.dir,
    logFile: paths.logFile,
  });
}

export function writeMemberFiles(options: LabOptions, dir: string, tls: TlsFiles | null): void {
  const { uid, gid } = postgresIds();
  MEMBER_NAMES.forEach((name, index) => {
    const paths = memberPaths(dir, name);
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    writeFileSync(paths.configFile, patroniConfig(options, index, paths, tls), { mode: 0o600 });
    writeFileSync(paths.logFile, '');
    for (const file of [paths.dir, paths.configFile, paths.logFile]) chownSync(file, uid, gid);
  });
}

export function restUrl(options: LabOptions, memberIndex: number, path: string): string {
  return `${options.tls ? 'https' : 'http'}://${LAB_HOST}:${options.ports.restApi[memberIndex]}${path}`;
}

export function memberIndex(name: string): number {
  const index = MEMBER_NAMES.indexOf(name as (typeof MEMBER_NAMES)[number]);
  if (index < 0) throw new LabError(`unknown member "${name}": the lab's members are ${MEMBER_NAMES.join(', ')}`);
  return index;
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Every PostgreSQL process of one member's data directory (postmaster and backends). */
export function postgresProcesses(dir: string, name: string): number[] {
  const pid = postmasterPid(memberPaths(dir, name).dataDir);
  return pid === undefined || !commandLineMentions(pid, dir) ? [] : processTree(pid);
}
