import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../lambdas/domain/errors.js';
import { LabError, LabTimeoutError } from './errors.js';

export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Starts a long-running process detached from us, output appended to its log file; returns its PID. */
export function startDetached(spec: SpawnSpec): number {
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, [...spec.args], {
      detached: true,
      stdio: ['ignore', out, out],
      env: spec.env ?? process.env,
      cwd: spec.cwd,
    });
    if (child.pid === undefined) throw new LabError(`could not start ${spec.command}; see ${spec.logFile}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

function isZombie(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return false;
  }
}

/**
 * True when the process's command line mentions `needle` (the lab's directory). A recorded PID outlives its
 * process: after a reboot or a crashed run it may belong to something else, which must never be killed.
 */
export function commandLineMentions(pid: number, needle: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
  } catch {
    return false;
  }
}

/** The PID and every descendant, read from /proc (no `ps` parsing). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process ended while we read /proc.
    }
  }
  const tree: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

export function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone: that is the goal.
    }
  }
}

/** SIGTERM, then SIGKILL whatever is still alive after `graceMs`; returns when all are gone (bounded). */
export async function terminate(pids: readonly number[], graceMs = 10_000): Promise<void> {
  signal(pids, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(isAlive)) await sleep(100);
  const survivors = pids.filter(isAlive);
  signal(survivors, 'SIGKILL');
  await waitFor(`processes ${survivors.join(', ')} to exit after SIGKILL`, 5_000, 50, () => (survivors.some(isAlive) ? undefined : true));
}

/** Resolves true when nothing listens on 127.0.0.1:port. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Names the process that listens on a port, as `ss` reports it, for error messages. */
export function portHolder(port: number): string {
  try {
    const line = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8', timeout: 5_000 }).trim();
    const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(line);
    return match ? `${match[1]} (pid ${match[2]})` : line || 'an unknown process';
  } catch {
    return 'an unknown process';
  }
}

/**
 * Polls `probe` until it returns a value, at most `timeoutMs`. On time-out the error names what was awaited
 * and the last thing the probe saw, so a stuck lab says why.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  intervalMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
  describeLast?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const seen = describeLast?.() ?? (lastError instanceof Error ? lastError.message : undefined);
      throw new LabTimeoutError(what, timeoutMs, seen);
    }
    await sleep(intervalMs);
  }
}

/** Where lab commands say what they are doing (the CLI prints each line; tests stay silent). */
export type Reporter = (line: string) => void;
export const silent: Reporter = () => undefined;

/** What a failed `execFileSync` printed on stderr (a Buffer or a string), else its message. */
export function commandFailure(error: unknown): string {
  const stderr = error instanceof Error && 'stderr' in error ? String(error.stderr ?? '').trim() : '';
  return stderr || messageOf(error);
}
