import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { PatroniHttp } from '../lambdas/adapters/patroni/http.js';
import { parseClusterView, parseHistory } from '../lambdas/adapters/patroni/parse.js';
import type { ClusterView, ClusterViewMember, HistoryEntry } from '../lambdas/domain/model.js';
import { LabError, PortInUseError } from './errors.js';
import {
  commandLineMentions,
  isAlive,
  isPortFree,
  portHolder,
  processTree,
  signal,
  startDetached,
  terminate,
  waitFor,
} from './processes.js';
import { labStateExists, readLabState, writeLabState, type LabState } from './state.js';
import { haproxyConfig, LAB_CREDENTIALS, LAB_HOST, patroniConfig, type MemberPaths } from './templates.js';
import { allPorts, labDirectory, MEMBER_NAMES, validateTimings, type LabOptions } from './topology.js';
import { createProbeRole, writeSucceeds } from './sql.js';
import { makeLabCertificates, tlsFiles, type TlsFiles } from './tls.js';
import { vipDown } from './vip.js';
import { messageOf } from '../lambdas/domain/errors.js';

export type Reporter = (line: string) => void;
const silent: Reporter = () => undefined;

const PATRONI_BINARIES = { 3: '/usr/bin/patroni', 4: join(import.meta.dirname, '..', '.venv', 'bin', 'patroni') } as const;
const POSTGRES_UID_GID = { uid: 101, gid: 104 };

function memberPaths(dir: string, name: string): MemberPaths {
  const memberDir = join(dir, name);
  return {
    dir: memberDir,
    dataDir: join(memberDir, 'data'),
    configFile: join(memberDir, 'patroni.yml'),
    logFile: join(memberDir, 'patroni.log'),
  };
}

function postgresIds(): { uid: number; gid: number } {
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

/** Fails early, naming the port and its holder, instead of letting etcd or Patroni die with a bind error. */
async function assertPortsFree(options: LabOptions): Promise<void> {
  for (const port of allPorts(options.ports)) {
    if (!(await isPortFree(port))) throw new PortInUseError(port, portHolder(port));
  }
}

function assertBinaries(options: LabOptions): void {
  const needed = ['/usr/bin/etcd', '/usr/sbin/haproxy', '/usr/lib/postgresql/15/bin/postgres', PATRONI_BINARIES[options.patroni]];
  const missing = needed.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new LabError(`missing ${missing.join(', ')}: run \`npm run setup\` first (as root)`);
  }
}

function startEtcd(options: LabOptions, dir: string): number {
  const { etcdClient, etcdPeer } = options.ports;
  return startDetached({
    command: '/usr/bin/etcd',
    args: [
      '--name', 'lab',
      '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', `http://${LAB_HOST}:${etcdClient}`,
      '--advertise-client-urls', `http://${LAB_HOST}:${etcdClient}`,
      '--listen-peer-urls', `http://${LAB_HOST}:${etcdPeer}`,
      '--initial-advertise-peer-urls', `http://${LAB_HOST}:${etcdPeer}`,
      '--initial-cluster', `lab=http://${LAB_HOST}:${etcdPeer}`,
      '--listen-metrics-urls', '',
    ],
    logFile: join(dir, 'etcd.log'),
  });
}

/**
 * Starts one member's Patroni as the postgres user (PostgreSQL refuses root) with a clean environment:
 * a pyenv Python first on PATH would break Debian's Patroni.
 */
function startPatroni(options: LabOptions, dir: string, name: string): number {
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

function writeMemberFiles(options: LabOptions, dir: string, tls: TlsFiles | null): void {
  const { uid, gid } = postgresIds();
  MEMBER_NAMES.forEach((name, index) => {
    const paths = memberPaths(dir, name);
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    writeFileSync(paths.configFile, patroniConfig(options, index, paths, tls), { mode: 0o600 });
    writeFileSync(paths.logFile, '');
    for (const file of [paths.dir, paths.configFile, paths.logFile]) chownSync(file, uid, gid);
  });
}

function restUrl(options: LabOptions, memberIndex: number, path: string): string {
  return `${options.tls ? 'https' : 'http'}://${LAB_HOST}:${options.ports.restApi[memberIndex]}${path}`;
}

/** The lab's own client of the REST API: trusts the lab's CA and sends basic auth when the lab runs with TLS. */
export function labHttp(options: LabOptions, timeoutMs: number): PatroniHttp {
  if (!options.tls) return new PatroniHttp({ timeoutMs });
  return new PatroniHttp({ timeoutMs, caFile: tlsFiles(labDirectory(options.ports.haproxy)).caCert, basicAuth: LAB_CREDENTIALS.restApi });
}

function memberIndex(name: string): number {
  const index = MEMBER_NAMES.indexOf(name as (typeof MEMBER_NAMES)[number]);
  if (index < 0) throw new LabError(`unknown member "${name}": the lab's members are ${MEMBER_NAMES.join(', ')}`);
  return index;
}

/** `/cluster` from the first member that answers, or null when none does. */
export async function readClusterView(options: LabOptions, http: PatroniHttp): Promise<ClusterView | null> {
  for (let i = 0; i < MEMBER_NAMES.length; i++) {
    const reply = await http.getJson(restUrl(options, i, '/cluster'));
    if (reply.ok) return parseClusterView(reply.body, restUrl(options, i, '/cluster'));
  }
  return null;
}

/**
 * Polls `/cluster` until `pick` finds what it waits for; on time-out the error shows the last view seen.
 * Every lab wait on the cluster's shape goes through here.
 */
async function waitForView<T>(
  options: LabOptions,
  http: PatroniHttp,
  what: string,
  timeoutMs: number,
  intervalMs: number,
  pick: (view: ClusterView | null) => T | undefined | Promise<T | undefined>,
  hint = '',
): Promise<T> {
  let last: ClusterView | null = null;
  return waitFor(
    what,
    timeoutMs,
    intervalMs,
    async () => {
      last = await readClusterView(options, http);
      return pick(last);
    },
    () => `${describeView(last)}${hint}`,
  );
}

/**
 * Reads `/cluster` every 100 ms (at most `maxPolls` times) and resolves with the first leader other than
 * `oldLeader` and when it was seen, or null. Benchmarks and tests time the pipeline against it.
 */
export async function watchForNewLeader(
  options: LabOptions,
  http: PatroniHttp,
  oldLeader: string,
  maxPolls = 600,
): Promise<{ at: number; leader: string } | null> {
  for (let i = 0; i < maxPolls; i++) {
    const leader = leaderOf(await readClusterView(options, http).catch(() => null))?.name;
    if (leader && leader !== oldLeader) return { at: Date.now(), leader };
    await sleep(100);
  }
  return null;
}

function leaderOf(view: ClusterView | null): ClusterViewMember | undefined {
  return view?.members.find((m) => m.role === 'leader');
}

/** The leader as `/cluster` of the first member that answers shows it; undefined when none answers or there is none. */
export async function readLeader(options: LabOptions, http: PatroniHttp): Promise<ClusterViewMember | undefined> {
  return leaderOf(await readClusterView(options, http));
}

/** `/history` from the first member that answers, or null when none does. */
export async function readHistory(options: LabOptions, http: PatroniHttp): Promise<HistoryEntry[] | null> {
  for (let i = 0; i < MEMBER_NAMES.length; i++) {
    const reply = await http.getJson(restUrl(options, i, '/history'));
    if (reply.ok) return parseHistory(reply.body, restUrl(options, i, '/history'));
  }
  return null;
}

function describeView(view: ClusterView | null): string {
  if (!view) return 'no member answered /cluster';
  return view.members.map((m) => `${m.name} ${m.role}/${m.state} tl ${m.timeline ?? '-'}`).join(', ') || 'no members';
}

/** Waits until a leader runs and both replicas stream from it: what `patronictl list` shows for a healthy cluster. */
async function waitHealthy(options: LabOptions, http: PatroniHttp, timeoutMs: number): Promise<ClusterView> {
  return waitForView(options, http, 'a leader with both replicas streaming', timeoutMs, 500, async (view) => {
    const leader = leaderOf(view);
    if (!view || !leader || leader.state !== 'running' || leader.timeline === null) return undefined;
    const healthyReplicas = view.members.filter(
      (m) => m.role !== 'leader' && (m.state === 'streaming' || m.state === 'running') && m.timeline === leader.timeline,
    );
    // Patroni 3.0.2 shows replicas as `running`; ask the leader's /patroni for real streaming connections.
    const status = await http.getJson(`${leader.apiUrl ?? restUrl(options, 0, '/patroni')}`);
    const streaming = status.ok
      ? ((status.body as { replication?: { state?: string }[] }).replication ?? []).filter((r) => r.state === 'streaming')
      : [];
    return healthyReplicas.length === 2 && streaming.length === 2 ? view : undefined;
  });
}

/**
 * A replica fit to take over: streaming on the leader's timeline, least lag first. Patroni 3.0.2 can leave a
 * replica on an old timeline until it restarts it, and a switchover to such a member does not happen; waits up to
 * 60 s for a fit one rather than asking Patroni for the impossible.
 */
async function healthyCandidate(options: LabOptions, http: PatroniHttp): Promise<string> {
  return waitForView(options, http, "a replica streaming on the leader's timeline to hand over to", 60_000, 500, (view) => {
    const leader = leaderOf(view);
    const fit = (view?.members ?? [])
      .filter((m) => m.role !== 'leader' && ['running', 'streaming'].includes(m.state) && m.timeline === leader?.timeline && m.lagBytes !== null)
      .sort((a, b) => a.lagBytes! - b.lagBytes!);
    return fit[0]?.name;
  });
}

async function waitWritable(options: LabOptions, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(`a write through HAProxy on ${LAB_HOST}:${options.ports.haproxy} to succeed`, timeoutMs, 100, async () =>
    (await writeSucceeds(options.ports.haproxy)) ? true : undefined,
  );
  return Date.now() - started;
}

/**
 * HAProxy marks a server down only after `fall` failed checks (and starts with every server up): until then it
 * still sends some connections to a read-only node. The lab returns once HAProxy routes to the leader alone.
 */
async function waitRoutedTo(options: LabOptions, leader: string): Promise<void> {
  let up: string[] = [];
  await waitFor(`HAProxy to route to ${leader} alone`, 30_000, 250, async () => {
    const servers = await haproxyServers(options);
    up = [...servers].filter(([, status]) => status === 'UP').map(([name]) => name);
    return up.length === 1 && up[0] === leader ? true : undefined;
  }, () => `servers up: ${up.join(', ') || 'none'}`);
}

export interface UpResult {
  readonly state: LabState;
  readonly leader: string;
  readonly seconds: number;
}

/** `failover lab up`: etcd, three Patroni/PostgreSQL members and HAProxy, returned healthy and writable. */
export async function labUp(options: LabOptions, report: Reporter = silent): Promise<UpResult> {
  validateTimings(options.timings);
  assertBinaries(options);
  if (labStateExists(options.ports.haproxy)) {
    throw new LabError(
      `a lab with HAProxy on port ${options.ports.haproxy} is already recorded in ${labDirectory(options.ports.haproxy)}: ` +
        'run `failover lab down` (with the same --base-port) first',
    );
  }
  await assertPortsFree(options);
  const started = Date.now();
  const dir = labDirectory(options.ports.haproxy);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tls = options.tls ? makeLabCertificates(dir, postgresIds()) : null;
  writeMemberFiles(options, dir, tls);
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(options, tls));

  report(`starting etcd on ${LAB_HOST}:${options.ports.etcdClient}`);
  const etcdPid = startEtcd(options, dir);
  let state: LabState = { options, dir, etcdPid, haproxyPid: 0, patroniPids: {}, startedAt: new Date().toISOString() };
  writeLabState(state);
  const http = labHttp(options, 2_000);
  try {
    await waitFor(`etcd on ${LAB_HOST}:${options.ports.etcdClient}`, 20_000, 200, async () => {
      const reply = await http.getJson(`http://${LAB_HOST}:${options.ports.etcdClient}/health`);
      return reply.ok ? true : undefined;
    });
    const patroniPids: Record<string, number> = {};
    // The first member bootstraps alone so it wins the initialisation race; the others then clone from it.
    for (const [index, name] of MEMBER_NAMES.entries()) {
      report(`starting Patroni ${options.patroni} member ${name} (REST ${options.ports.restApi[index]}, PostgreSQL ${options.ports.postgres[index]})`);
      patroniPids[name] = startPatroni(options, dir, name);
      state = { ...state, patroniPids: { ...patroniPids } };
      writeLabState(state);
      if (index === 0) {
        await waitForView(options, http, `${name} to bootstrap and become leader`, 90_000, 500, (view) => {
          const leader = leaderOf(view);
          return leader?.name === name && leader.state === 'running' ? true : undefined;
        }, `; see ${memberPaths(dir, name).logFile}`);
      }
    }
    report(`starting HAProxy on ${LAB_HOST}:${options.ports.haproxy} (stats on ${options.ports.haproxyStats})`);
    const haproxyPid = startDetached({
      command: '/usr/sbin/haproxy',
      args: ['-db', '-f', join(dir, 'haproxy.cfg')],
      logFile: join(dir, 'haproxy.log'),
    });
    state = { ...state, haproxyPid };
    writeLabState(state);
    const view = await waitHealthy(options, http, 120_000);
    await waitWritable(options, 60_000);
    await createProbeRole(options.ports.haproxy);
    const leader = leaderOf(view)!.name;
    await waitRoutedTo(options, leader);
    report(`lab is up: leader ${leader}, writes through ${LAB_HOST}:${options.ports.haproxy} work`);
    return { state, leader, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    report(`lab up failed, stopping what was started: ${messageOf(error)}`);
    await labDown(options.ports.haproxy).catch(() => undefined);
    throw error;
  } finally {
    await http.close();
  }
}

async function postmasterStartTime(http: PatroniHttp, url: string): Promise<string | null> {
  const reply = await http.getJson(url);
  return reply.ok ? ((reply.body as { postmaster_start_time?: string }).postmaster_start_time ?? null) : null;
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
function postgresProcesses(dir: string, name: string): number[] {
  const pid = postmasterPid(memberPaths(dir, name).dataDir);
  return pid === undefined || !commandLineMentions(pid, dir) ? [] : processTree(pid);
}

/** `failover lab down`: stops exactly what `up` recorded, removes its data, leaves no process or port behind. */
export async function labDown(haproxyPort: number, report: Reporter = silent): Promise<void> {
  const state = readLabState(haproxyPort);
  // The VIP path's hosts (network namespaces, keepalived, their HAProxies) go first: they route to this lab.
  await vipDown(haproxyPort);
  // Only processes that are still this lab's (their command line names its directory), then their children.
  const ours = (pid: number) => pid > 0 && isAlive(pid) && commandLineMentions(pid, state.dir);
  const patroniTrees = Object.values(state.patroniPids).filter(ours).flatMap((pid) => processTree(pid));
  const postgres = MEMBER_NAMES.flatMap((name) => postgresProcesses(state.dir, name));
  report(`stopping ${patroniTrees.length + postgres.length} Patroni/PostgreSQL processes`);
  await terminate([...new Set([...patroniTrees, ...postgres])], 15_000);
  const infra = [state.haproxyPid, state.etcdPid].filter(ours);
  await terminate(infra, 5_000);
  await waitFor('every lab port to be free', 10_000, 100, async () => {
    for (const port of allPorts(state.options.ports)) if (!(await isPortFree(port))) return undefined;
    return true;
  }, () => allPorts(state.options.ports).map((p) => `${p}`).join(' '));
  rmSync(state.dir, { recursive: true, force: true });
  report(`lab on port ${haproxyPort} is down and its data removed`);
}

export interface MemberStatusRow {
  readonly name: string;
  readonly host: string;
  readonly role: string;
  readonly state: string;
  readonly timeline: number | null;
  readonly lagBytes: number | null;
  readonly haproxy: string;
}

export interface LabStatus {
  readonly scope: string | null;
  readonly paused: boolean;
  readonly members: readonly MemberStatusRow[];
  /** Members HAProxy currently sends clients to (status UP). */
  readonly haproxyRoutesTo: readonly string[];
}

/** HAProxy's own view: stats page CSV, one row per server with its check status. */
async function haproxyServers(options: LabOptions): Promise<Map<string, string>> {
  const servers = new Map<string, string>();
  try {
    const response = await request(`http://${LAB_HOST}:${options.ports.haproxyStats}/;csv`, {
      signal: AbortSignal.timeout(2_000),
    });
    const lines = (await response.body.text()).split('\n');
    const header = (lines[0] ?? '').replace(/^# /, '').split(',');
    const [px, sv, st] = ['pxname', 'svname', 'status'].map((c) => header.indexOf(c));
    for (const line of lines.slice(1)) {
      const cols = line.split(',');
      if (cols[px!] === 'postgres' && MEMBER_NAMES.includes(cols[sv!] as never)) servers.set(cols[sv!]!, cols[st!] ?? '?');
    }
  } catch {
    // HAProxy down: every server shows as "unknown", which is the truth.
  }
  return servers;
}

/** `failover lab status`: what `patronictl list` shows, plus where HAProxy routes. */
export async function labStatus(haproxyPort: number): Promise<LabStatus> {
  const { options } = readLabState(haproxyPort);
  const http = labHttp(options, 2_000);
  try {
    const [view, servers] = await Promise.all([readClusterView(options, http), haproxyServers(options)]);
    const members = MEMBER_NAMES.map((name, i): MemberStatusRow => {
      const m = view?.members.find((v) => v.name === name);
      return {
        name,
        host: `${LAB_HOST}:${options.ports.postgres[i]}`,
        role: m?.role ?? 'absent',
        state: m?.state ?? 'absent',
        timeline: m?.timeline ?? null,
        lagBytes: m?.lagBytes ?? null,
        haproxy: servers.get(name) ?? 'unknown',
      };
    });
    return {
      scope: view?.scope ?? options.scope,
      paused: view?.paused ?? false,
      members,
      haproxyRoutesTo: members.filter((m) => m.haproxy === 'UP').map((m) => m.name),
    };
  } finally {
    await http.close();
  }
}

export const FAILOVER_MODES = ['stop', 'kill', 'switchover', 'failover', 'crash'] as const;
export type FailoverMode = (typeof FAILOVER_MODES)[number];

export function parseFailoverMode(mode: string): FailoverMode {
  if ((FAILOVER_MODES as readonly string[]).includes(mode)) return mode as FailoverMode;
  throw new LabError(`unknown --mode "${mode}": valid modes are ${FAILOVER_MODES.join(', ')}`);
}

export interface FailoverResult {
  readonly mode: FailoverMode;
  readonly oldLeader: string;
  readonly newLeader: string;
  readonly oldTimeline: number;
  readonly newTimeline: number;
  /** When the failure was injected (epoch ms). */
  readonly injectedAt: number;
  /** Seconds from injection until a write through HAProxy succeeded again. */
  readonly writeRestoredAfterSeconds: number;
}

/** `failover lab failover --mode …`: injects one failure of the leader, waits for a new leader and for writes. */
export async function labFailover(
  haproxyPort: number,
  mode: FailoverMode,
  target?: string,
  report: Reporter = silent,
): Promise<FailoverResult> {
  const state = readLabState(haproxyPort);
  const { options, dir } = state;
  const http = labHttp(options, 3_000);
  try {
    // Right after a previous failover the DCS can list the leader for a moment without its timeline: wait briefly.
    const leader = await waitForView(options, http, 'a running leader with a timeline to fail over', 30_000, 250, (view) => {
      const current = leaderOf(view);
      return current && current.state === 'running' && current.timeline !== null ? current : undefined;
    }).catch((error: unknown) => {
      throw new LabError(`the lab has no running leader right now: ${messageOf(error)}`);
    });
    if (target !== undefined) memberIndex(target);
    const candidate = target ?? (mode === 'switchover' || mode === 'failover' ? await healthyCandidate(options, http) : undefined);
    const startTimeBefore = await postmasterStartTime(http, restUrl(options, memberIndex(leader.name), '/patroni'));
    report(`injecting ${mode} on leader ${leader.name} (timeline ${leader.timeline})`);
    const injectedAt = Date.now();
    await inject(state, mode, leader.name, candidate, http);
    // A new leader, or a higher timeline, ends every mode. A crash may also end with the same leader's
    // PostgreSQL restarted in place: Patroni >= 3.0.4 does that without a timeline bump (primary_start_timeout > 0).
    const after = await waitForView(
      options,
      http,
      mode === 'crash'
        ? `${leader.name}'s PostgreSQL to restart, or a new leader`
        : `a new leader on a timeline above ${leader.timeline} after ${mode}`,
      Math.max(120_000, options.timings.ttl * 4_000),
      250,
      async (view) => {
        const next = leaderOf(view);
        if (!next || next.state !== 'running' || next.timeline === null) return undefined;
        if (next.timeline > leader.timeline!) return next;
        if (mode !== 'crash' || next.name !== leader.name) return undefined;
        const startTime = await postmasterStartTime(http, restUrl(options, memberIndex(next.name), '/patroni'));
        return startTime !== null && startTime !== startTimeBefore ? next : undefined;
      },
      `; see the members' patroni.log in ${dir}`,
    );
    await waitWritable(options, 120_000);
    const writeRestoredAfterSeconds = (Date.now() - injectedAt) / 1000;
    await waitRoutedTo(options, after.name);
    const outcome =
      after.name === leader.name && after.timeline === leader.timeline
        ? `${after.name}'s PostgreSQL restarted in place on timeline ${after.timeline}`
        : `new leader ${after.name} on timeline ${after.timeline}`;
    report(`${outcome}; writes through HAProxy work again after ${writeRestoredAfterSeconds.toFixed(1)} s`);
    return {
      mode,
      oldLeader: leader.name,
      newLeader: after.name,
      oldTimeline: leader.timeline!,
      newTimeline: after.timeline!,
      injectedAt,
      writeRestoredAfterSeconds,
    };
  } finally {
    await http.close();
  }
}

async function inject(state: LabState, mode: FailoverMode, leader: string, candidate: string | undefined, http: PatroniHttp): Promise<void> {
  const { options, dir } = state;
  const leaderUrl = restUrl(options, memberIndex(leader), '');
  switch (mode) {
    case 'stop':
      // What systemd does on a reboot: SIGTERM to Patroni, which stops PostgreSQL and releases the leader key.
      signal([state.patroniPids[leader]!], 'SIGTERM');
      await waitFor(`Patroni of ${leader} to stop`, 60_000, 100, () => (isAlive(state.patroniPids[leader]!) ? undefined : true));
      return;
    case 'kill': {
      // Power loss: Patroni and every PostgreSQL process at once, so no orphan backend keeps shared memory.
      const victims = [...processTree(state.patroniPids[leader]!), ...postgresProcesses(dir, leader)];
      signal([...new Set(victims)], 'SIGKILL');
      return;
    }
    case 'crash':
      signal(postgresProcesses(dir, leader), 'SIGKILL');
      return;
    case 'switchover':
    case 'failover': {
      if (!candidate) throw new LabError(`no candidate for ${mode}: no replica is running`);
      const body = mode === 'switchover' ? { leader, candidate } : { candidate };
      const reply = await http.send('POST', `${leaderUrl}/${mode}`, body);
      if (reply.status !== 200) throw new LabError(`Patroni refused the ${mode} to ${candidate} (HTTP ${reply.status}): ${reply.text.trim()}`);
      return;
    }
  }
}

/** `failover lab rejoin MEMBER`: starts a stopped or killed member's Patroni again; returns when the cluster is healthy. */
export async function labRejoin(haproxyPort: number, name: string, report: Reporter = silent): Promise<void> {
  const state = readLabState(haproxyPort);
  memberIndex(name);
  const pid = state.patroniPids[name];
  if (pid !== undefined && isAlive(pid)) throw new LabError(`${name}'s Patroni is already running (pid ${pid})`);
  // A killed member may leave PostgreSQL behind; it must go before Patroni starts it again.
  await terminate(postgresProcesses(state.dir, name), 5_000);
  const newPid = startPatroni(state.options, state.dir, name);
  writeLabState({ ...state, patroniPids: { ...state.patroniPids, [name]: newPid } });
  report(`started ${name} again (pid ${newPid}); waiting for it to stream`);
  const http = labHttp(state.options, 2_000);
  try {
    // Back means the whole cluster is healthy again: both replicas streaming from the leader on its timeline.
    await waitHealthy(state.options, http, 120_000);
  } finally {
    await http.close();
  }
}

/** `failover lab pause|resume`: Patroni's maintenance mode, through `PATCH /config` on any member. */
export async function labSetPaused(haproxyPort: number, paused: boolean): Promise<void> {
  const { options } = readLabState(haproxyPort);
  const http = labHttp(options, 3_000);
  try {
    let lastError = 'no member answered';
    for (let i = 0; i < MEMBER_NAMES.length; i++) {
      try {
        const reply = await http.send('PATCH', restUrl(options, i, '/config'), { pause: paused });
        if (reply.status === 200) {
          await waitForView(options, http, `every member to report pause=${paused}`, 30_000, 250, (view) =>
            view && view.paused === paused ? true : undefined,
          );
          return;
        }
        lastError = `HTTP ${reply.status}: ${reply.text.trim()}`;
      } catch (error) {
        lastError = messageOf(error);
      }
    }
    throw new LabError(`could not ${paused ? 'pause' : 'resume'} the cluster: ${lastError}`);
  } finally {
    await http.close();
  }
}

/** Stops one member's Patroni gracefully (it stops its PostgreSQL first), as a reboot of that host does. */
export async function labStopMember(haproxyPort: number, name: string): Promise<void> {
  const state = readLabState(haproxyPort);
  memberIndex(name);
  const pid = state.patroniPids[name];
  if (pid === undefined || !isAlive(pid)) throw new LabError(`${name}'s Patroni is not running`);
  signal([pid], 'SIGTERM');
  await waitFor(`Patroni of ${name} to stop`, 60_000, 100, () => (isAlive(pid) ? undefined : true));
}

/** Kills one member's PostgreSQL (every process) and leaves its Patroni running: a PostgreSQL-only crash. */
export function labKillPostgres(haproxyPort: number, name: string): void {
  const state = readLabState(haproxyPort);
  memberIndex(name);
  const victims = postgresProcesses(state.dir, name);
  if (victims.length === 0) throw new LabError(`${name} has no PostgreSQL process to kill`);
  signal(victims, 'SIGKILL');
}

/** Stops the lab's etcd: every Patroni loses the DCS, and a leader demotes itself after retry_timeout. */
export async function labStopEtcd(haproxyPort: number): Promise<void> {
  const state = readLabState(haproxyPort);
  if (!isAlive(state.etcdPid)) throw new LabError('the lab\'s etcd is not running');
  signal([state.etcdPid], 'SIGTERM');
  await waitFor('etcd to stop', 30_000, 100, () => (isAlive(state.etcdPid) ? undefined : true));
}

/** Starts the lab's etcd again on its old data directory; returns once the whole cluster is healthy again. */
export async function labStartEtcd(haproxyPort: number): Promise<void> {
  const state = readLabState(haproxyPort);
  if (isAlive(state.etcdPid)) throw new LabError(`the lab's etcd is already running (pid ${state.etcdPid})`);
  const etcdPid = startEtcd(state.options, state.dir);
  writeLabState({ ...state, etcdPid });
  const http = labHttp(state.options, 2_000);
  try {
    await waitHealthy(state.options, http, 120_000);
    await waitWritable(state.options, 60_000);
  } finally {
    await http.close();
  }
}
