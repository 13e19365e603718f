import { existsSync, readFileSync } from 'node:fs';
import type { PatroniHttp } from '../lambdas/adapters/patroni/http.js';
import { messageOf } from '../lambdas/domain/errors.js';
import {
  healthyCandidate,
  labHttp,
  leaderOf,
  postmasterStartTime,
  waitForView,
  waitHealthy,
  waitRoutedTo,
  waitWritable,
} from './cluster.js';
import { memberIndex, memberPaths, postgresProcesses, restUrl, startEtcd, startPatroni } from './daemons.js';
import { LabError, LabTimeoutError } from './errors.js';
import { isAlive, processTree, type Reporter, signal, silent, terminate, waitFor } from './processes.js';
import { type LabState, readLabState, writeLabState } from './state.js';
import { MEMBER_NAMES } from './topology.js';

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
        if (next?.state !== 'running' || next.timeline === null) return undefined;
        if (next.timeline > leader.timeline!) return next;
        if (mode !== 'crash' || next.name !== leader.name) return undefined;
        const startTime = await postmasterStartTime(http, restUrl(options, memberIndex(next.name), '/patroni'));
        return startTime !== null && startTime !== startTimeBefore ? next : undefined;
      },
      `; see the members' patroni.log in ${dir}`,
    ).catch((error: unknown) => {
      // Patroni's own account of why the leader did not move, in the error itself: CI keeps no lab directory.
      throw error instanceof LabTimeoutError ? new LabError(`${error.message}\n${memberLogTails(dir)}`, { cause: error }) : error;
    });
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

async function inject(
  state: LabState,
  mode: FailoverMode,
  leader: string,
  candidate: string | undefined,
  http: PatroniHttp,
): Promise<void> {
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
      if (reply.status !== 200)
        throw new LabError(`Patroni refused the ${mode} to ${candidate} (HTTP ${reply.status}): ${reply.text.trim()}`);
      return;
    }
  }
}

/** `failover lab rejoin MEMBER`: starts a stopped or killed member's Patroni again; returns when the cluster is healthy. */
export async function labRejoin(haproxyPort: number, name: string, report: Reporter = silent): Promise<void> {
  await labRejoinAll(haproxyPort, [name], report);
}

/**
 * Starts several stopped members' Patroni at once, recording every new pid in one write of the lab's state (two
 * rejoins side by side would each overwrite the other's pid); returns when the cluster is healthy.
 */
export async function labRejoinAll(haproxyPort: number, names: readonly string[], report: Reporter = silent): Promise<void> {
  const state = readLabState(haproxyPort);
  const patroniPids = { ...state.patroniPids };
  for (const name of names) {
    memberIndex(name);
    const pid = state.patroniPids[name];
    if (pid !== undefined && isAlive(pid)) throw new LabError(`${name}'s Patroni is already running (pid ${pid})`);
    // A killed member may leave PostgreSQL behind; it must go before Patroni starts it again.
    await terminate(postgresProcesses(state.dir, name), 5_000);
    patroniPids[name] = startPatroni(state.options, state.dir, name);
    report(`started ${name} again (pid ${patroniPids[name]}); waiting for it to stream`);
  }
  writeLabState({ ...state, patroniPids });
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
  if (!isAlive(state.etcdPid)) throw new LabError("the lab's etcd is not running");
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

/** Lines of each member's patroni.log shown when a failover times out. */
const LOG_TAIL_LINES = 15;

/** The last lines of each member's patroni.log, under its name. */
export function memberLogTails(dir: string): string {
  return MEMBER_NAMES.map((name) => {
    const file = memberPaths(dir, name).logFile;
    const lines = existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES) : ['(no log file)'];
    return [`${name}, the end of ${file}:`, ...lines.map((line) => `  ${line}`)].join('\n');
  }).join('\n');
}
