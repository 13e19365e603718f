// `failover lab up` and `failover lab down`: a whole lab's life. Reads and waits are in `cluster.ts`, fault
// injection in `faults.ts`, processes in `daemons.ts`.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { messageOf } from '../lambdas/domain/errors.js';
import { labHttp, leaderOf, waitForView, waitHealthy, waitRoutedTo, waitWritable } from './cluster.js';
import { memberPaths, PATRONI_BINARIES, postgresIds, postgresProcesses, startEtcd, startPatroni, writeMemberFiles } from './daemons.js';
import { LabError, PortInUseError } from './errors.js';
import { commandLineMentions, isAlive, isPortFree, portHolder, processTree, startDetached, terminate, waitFor } from './processes.js';
import { createProbeRole } from './sql.js';
import { type LabState, labStateExists, readLabState, writeLabState } from './state.js';
import { haproxyConfig, LAB_HOST } from './templates.js';
import { makeLabCertificates } from './tls.js';
import { allPorts, type LabOptions, labDirectory, MEMBER_NAMES, validateTimings } from './topology.js';
import { vipDown } from './vip.js';

export type Reporter = (line: string) => void;

const silent: Reporter = () => undefined;

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
      report(
        `starting Patroni ${options.patroni} member ${name} (REST ${options.ports.restApi[index]}, PostgreSQL ${options.ports.postgres[index]})`,
      );
      patroniPids[name] = startPatroni(options, dir, name);
      state = { ...state, patroniPids: { ...patroniPids } };
      writeLabState(state);
      if (index === 0) {
        await waitForView(
          options,
          http,
          `${name} to bootstrap and become leader`,
          90_000,
          500,
          (view) => {
            const leader = leaderOf(view);
            return leader?.name === name && leader.state === 'running' ? true : undefined;
          },
          `; see ${memberPaths(dir, name).logFile}`,
        );
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

/** `failover lab down`: stops exactly what `up` recorded, removes its data, leaves no process or port behind. */
export async function labDown(haproxyPort: number, report: Reporter = silent): Promise<void> {
  const state = readLabState(haproxyPort);
  // The VIP path's hosts (network namespaces, keepalived, their HAProxies) go first: they route to this lab.
  await vipDown(haproxyPort);
  // Only processes that are still this lab's (their command line names its directory), then their children.
  const ours = (pid: number) => pid > 0 && isAlive(pid) && commandLineMentions(pid, state.dir);
  const patroniTrees = Object.values(state.patroniPids)
    .filter(ours)
    .flatMap((pid) => processTree(pid));
  const postgres = MEMBER_NAMES.flatMap((name) => postgresProcesses(state.dir, name));
  report(`stopping ${patroniTrees.length + postgres.length} Patroni/PostgreSQL processes`);
  await terminate([...new Set([...patroniTrees, ...postgres])], 15_000);
  const infra = [state.haproxyPid, state.etcdPid].filter(ours);
  await terminate(infra, 5_000);
  await waitFor(
    'every lab port to be free',
    10_000,
    100,
    async () => {
      for (const port of allPorts(state.options.ports)) if (!(await isPortFree(port))) return undefined;
      return true;
    },
    () =>
      allPorts(state.options.ports)
        .map((p) => `${p}`)
        .join(' '),
  );
  rmSync(state.dir, { recursive: true, force: true });
  report(`lab on port ${haproxyPort} is down and its data removed`);
}
