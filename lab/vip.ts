// The guide's VIP path on test hosts: two HAProxy hosts (master and backup) sharing a virtual IP with keepalived
// (VRRP), and a client host, each in its own network namespace joined by a bridge in a fourth. Every address
// lives inside those namespaces; the root namespace gets none. The hosts reach the lab's members through unix
// sockets (the filesystem is shared): PostgreSQL's own socket, and a relay HAProxy in the root namespace for the
// REST API. Everything started here is recorded in the lab's vip/ directory and stopped by `vipDown` (and `lab down`).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { commandFailure, isAlive, processTree, signal, startDetached, terminate, waitFor } from './processes.js';
import { readLabState } from './state.js';
import { haproxyConfig } from './templates.js';
import { MEMBER_NAMES } from './topology.js';

export type VipHost = 'ha1' | 'ha2';

export interface VipLab {
  /** The VIP, as clients in the client namespace write to it. */
  readonly address: string;
  readonly port: number;
  readonly namespaces: { readonly switch: string; readonly ha1: string; readonly ha2: string; readonly client: string };
  readonly haproxyPids: Record<VipHost, number>;
  readonly keepalivedPids: Record<VipHost, number>;
  readonly relayPid: number;
  readonly dir: string;
}

const SUBNET = '10.203.0';
const VIP_PORT = 5000;
const ADDRESSES = { ha1: `${SUBNET}.11`, ha2: `${SUBNET}.12`, client: `${SUBNET}.20`, vip: `${SUBNET}.100` } as const;

function ip(args: readonly string[]): string {
  try {
    return execFileSync('/usr/sbin/ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (error) {
    throw new LabError(`ip ${args.join(' ')} failed: ${commandFailure(error)} (network namespaces need root)`);
  }
}

function namespaceNames(haproxyPort: number): VipLab['namespaces'] {
  const prefix = `fv${haproxyPort}`;
  return { switch: `${prefix}-sw`, ha1: `${prefix}-ha1`, ha2: `${prefix}-ha2`, client: `${prefix}-cl` };
}

/** Unix socket in the root namespace that relays to 127.0.0.1:`port` there. */
export function relaySocket(dir: string, port: number): string {
  return join(dir, `tcp-${port}.sock`);
}

/** The relay in the root namespace: one unix socket per REST API port, each to 127.0.0.1 there. */
function relayConfig(dir: string, ports: readonly number[]): string {
  const sections = ports.flatMap((port) => [
    `listen relay_${port}`,
    `    bind unix@${relaySocket(dir, port)} mode 666`,
    `    server local 127.0.0.1:${port}`,
  ]);
  return [
    'global',
    '    maxconn 500',
    'defaults',
    '    mode tcp',
    '    timeout connect 4s',
    '    timeout client 30m',
    '    timeout server 30m',
    ...sections,
    '',
  ].join('\n');
}

/**
 * Inside an HAProxy host: 127.0.0.1:port for each REST API (through the relay) and each PostgreSQL (its own unix
 * socket), so that the lab's HAProxy configuration works there unchanged.
 */
function inNamespaceRelays(dir: string, labDir: string, restPorts: readonly number[], pgPorts: readonly number[]): string[] {
  const rest = restPorts.flatMap((port) => [
    `listen to_${port}`,
    `    bind 127.0.0.1:${port}`,
    `    server relay unix@${relaySocket(dir, port)}`,
  ]);
  const pg = pgPorts.flatMap((port, i) => [
    `listen to_${port}`,
    `    bind 127.0.0.1:${port}`,
    `    server pg unix@${join(labDir, MEMBER_NAMES[i]!, `.s.PGSQL.${port}`)}`,
  ]);
  return [...rest, ...pg];
}

function keepalivedConfig(host: VipHost, haproxyPid: number): string {
  const master = host === 'ha1';
  return `global_defs {
  router_id ${host}
  enable_script_security
  script_user root
}
vrrp_script haproxy_alive {
  script "/bin/kill -0 ${haproxyPid}"
  interval 1
  fall 2
  rise 2
}
vrrp_instance postgres_vip {
  state ${master ? 'MASTER' : 'BACKUP'}
  interface eth0
  virtual_router_id 51
  priority ${master ? 150 : 100}
  advert_int 1
  virtual_ipaddress {
    ${ADDRESSES.vip}/24 dev eth0
  }
  track_script {
    haproxy_alive
  }
}
`;
}

function addHost(namespaces: VipLab['namespaces'], name: 'ha1' | 'ha2' | 'client'): void {
  const namespace = namespaces[name];
  ip(['netns', 'add', namespace]);
  ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
  // The veth pair is made inside the namespaces: no interface ever appears in the root namespace.
  ip(['-n', namespace, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', name, 'netns', namespaces.switch]);
  ip(['-n', namespace, 'addr', 'add', `${ADDRESSES[name]}/24`, 'dev', 'eth0']);
  ip(['-n', namespace, 'link', 'set', 'eth0', 'up']);
  ip(['-n', namespaces.switch, 'link', 'set', name, 'master', 'br0', 'up']);
}

/** Which HAProxy host holds the VIP right now (null while neither does). */
export function vipHolder(vip: VipLab): VipHost | null {
  for (const host of ['ha1', 'ha2'] as const) {
    if (ip(['-n', vip.namespaces[host], '-o', 'addr', 'show', 'dev', 'eth0']).includes(`${ADDRESSES.vip}/`)) return host;
  }
  return null;
}

/** Builds the VIP path for the lab on `haproxyPort`; returns once keepalived has put the VIP on ha1. */
export async function vipUp(haproxyPort: number): Promise<VipLab> {
  const state = readLabState(haproxyPort);
  const { options } = state;
  if (!existsSync('/usr/sbin/keepalived')) throw new LabError('missing /usr/sbin/keepalived: run `npm run setup` first (as root)');
  const namespaces = namespaceNames(haproxyPort);
  await vipDown(haproxyPort);
  const dir = join(state.dir, 'vip');
  mkdirSync(dir, { recursive: true });
  ip(['netns', 'add', namespaces.switch]);
  ip(['-n', namespaces.switch, 'link', 'add', 'br0', 'type', 'bridge']);
  ip(['-n', namespaces.switch, 'link', 'set', 'br0', 'up']);
  for (const host of ['ha1', 'ha2', 'client'] as const) addHost(namespaces, host);

  writeFileSync(join(dir, 'relay.cfg'), relayConfig(dir, options.ports.restApi));
  const relayPid = startDetached({
    command: '/usr/sbin/haproxy',
    args: ['-db', '-f', join(dir, 'relay.cfg')],
    logFile: join(dir, 'relay.log'),
  });
  const relays = inNamespaceRelays(dir, state.dir, options.ports.restApi, options.ports.postgres);
  const haproxyPids = {} as Record<VipHost, number>;
  const keepalivedPids = {} as Record<VipHost, number>;
  for (const host of ['ha1', 'ha2'] as const) {
    // The lab's own HAProxy configuration, listening on every address of the host (the VIP comes and goes).
    const config = haproxyConfig({ ...options, ports: { ...options.ports, haproxy: VIP_PORT } }, null, '0.0.0.0');
    writeFileSync(join(dir, `${host}-haproxy.cfg`), `${config}\n${relays.join('\n')}\n`);
    haproxyPids[host] = startDetached({
      command: '/usr/sbin/ip',
      args: ['netns', 'exec', namespaces[host], '/usr/sbin/haproxy', '-db', '-f', join(dir, `${host}-haproxy.cfg`)],
      logFile: join(dir, `${host}-haproxy.log`),
    });
    writeFileSync(join(dir, `${host}-keepalived.conf`), keepalivedConfig(host, haproxyPids[host]));
    keepalivedPids[host] = startDetached({
      command: '/usr/sbin/ip',
      args: [
        'netns',
        'exec',
        namespaces[host],
        '/usr/sbin/keepalived',
        '-n',
        '-l',
        '-f',
        join(dir, `${host}-keepalived.conf`),
        '-p',
        join(dir, `${host}-keepalived.pid`),
        '-r',
        join(dir, `${host}-vrrp.pid`),
        '-c',
        join(dir, `${host}-checkers.pid`),
      ],
      logFile: join(dir, `${host}-keepalived.log`),
    });
  }
  const vip: VipLab = { address: ADDRESSES.vip, port: VIP_PORT, namespaces, haproxyPids, keepalivedPids, relayPid, dir };
  writeFileSync(join(dir, 'pids.json'), JSON.stringify({ relayPid, haproxyPids, keepalivedPids }));
  await waitFor(`keepalived to put the VIP ${ADDRESSES.vip} on ha1`, 30_000, 250, () => (vipHolder(vip) === 'ha1' ? true : undefined));
  return vip;
}

/** Kills one host's HAProxy, as a crash would: keepalived's check notices and hands the VIP over. */
export function killHaproxy(vip: VipLab, host: VipHost): void {
  if (!isAlive(vip.haproxyPids[host])) throw new LabError(`HAProxy on ${host} is not running`);
  signal([vip.haproxyPids[host]], 'SIGKILL');
}

/** Runs a command on the client host. */
export function clientCommand(vip: VipLab, command: readonly string[]): string[] {
  return ['netns', 'exec', vip.namespaces.client, ...command];
}

/** Stops everything `vipUp` started for this lab and removes its namespaces; harmless when nothing is there. */
export async function vipDown(haproxyPort: number): Promise<void> {
  const namespaces = namespaceNames(haproxyPort);
  let dir: string | null = null;
  try {
    dir = join(readLabState(haproxyPort).dir, 'vip');
  } catch {
    // No lab recorded: only namespaces may be left.
  }
  if (dir && existsSync(join(dir, 'pids.json'))) {
    const pids = JSON.parse(readFileSync(join(dir, 'pids.json'), 'utf8')) as {
      relayPid: number;
      haproxyPids: Record<string, number>;
      keepalivedPids: Record<string, number>;
    };
    // keepalived first, so that it releases the VIP, then the HAProxies and the relays.
    // Whole process trees: keepalived runs a VRRP and a checker child that would outlive a killed parent.
    const trees = (list: number[]) => [...new Set(list.filter((p) => p > 0 && isAlive(p)).flatMap((p) => processTree(p)))];
    await terminate(trees(Object.values(pids.keepalivedPids)), 5_000);
    await terminate(trees([...Object.values(pids.haproxyPids), pids.relayPid]), 5_000);
  }
  // `ip netns add` makes /run/netns/<name>: nothing to run (or to need root for) when the lab never had a VIP path.
  for (const namespace of Object.values(namespaces)) {
    if (existsSync(`/run/netns/${namespace}`)) ip(['netns', 'del', namespace]);
  }
}
