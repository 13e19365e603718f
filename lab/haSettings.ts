// Changing a lab's HA settings the way operators do: member tags in patroni.yml (with a restart), the dynamic
// configuration with `patronictl edit-config`, a scheduled switchover with `patronictl switchover --scheduled`.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { memberIndex, memberPaths, PATRONI_BINARIES } from './daemons.js';
import { LabError } from './errors.js';
import { labRejoin, labStopMember } from './faults.js';
import { commandFailure } from './processes.js';
import { runSql } from './sql.js';
import { readLabState } from './state.js';

const run = promisify(execFile);

/** Runs the lab's own patronictl (Debian's for Patroni 3, the virtualenv's for 4) against pg_node1's configuration. */
async function patronictl(haproxyPort: number, args: readonly string[]): Promise<string> {
  const state = readLabState(haproxyPort);
  const binary = join(dirname(PATRONI_BINARIES[state.options.patroni]), 'patronictl');
  const configFile = memberPaths(state.dir, 'pg_node1').configFile;
  try {
    // A clean environment, as for Patroni itself: a pyenv Python first on PATH breaks Debian's patronictl.
    const { stdout } = await run(binary, ['-c', configFile, ...args], {
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
      timeout: 60_000,
    });
    return stdout;
  } catch (error) {
    throw new LabError(`patronictl ${args.join(' ')} failed: ${commandFailure(error)}`);
  }
}

/**
 * Sets (or, with null, removes) a member's tags in its patroni.yml and restarts its Patroni with them, as an
 * operator does; returns once the cluster is healthy again.
 */
export async function labSetTags(haproxyPort: number, name: string, tags: Record<string, boolean | number | string> | null): Promise<void> {
  const state = readLabState(haproxyPort);
  memberIndex(name);
  const { configFile } = memberPaths(state.dir, name);
  const config = parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  if (tags) config.tags = tags;
  else delete config.tags;
  writeFileSync(configFile, stringify(config));
  await labStopMember(haproxyPort, name);
  await labRejoin(haproxyPort, name);
}

/** `patronictl edit-config --set key=value ...`: changes the dynamic configuration in the DCS. */
export async function labEditConfig(haproxyPort: number, settings: Readonly<Record<string, string>>): Promise<void> {
  const sets = Object.entries(settings).flatMap(([key, value]) => ['--set', `${key}=${value}`]);
  await patronictl(haproxyPort, ['edit-config', '--force', ...sets]);
}

/** `patronictl switchover --scheduled AT`: Patroni runs it at that time and shows it in `/cluster` until then. */
export async function labScheduleSwitchover(haproxyPort: number, leader: string, candidate: string, at: Date): Promise<void> {
  await patronictl(haproxyPort, ['switchover', '--leader', leader, '--candidate', candidate, '--scheduled', at.toISOString(), '--force']);
}

/**
 * Stops one replica from receiving WAL (SIGSTOP to its walreceiver) until the returned function resumes it: a
 * replica that falls behind. (`pg_wal_replay_pause()` does not hold on a Patroni replica: Patroni 3.0.2 and 4.1.5
 * both resume the replay within a loop_wait.)
 */
export async function labStallReplication(haproxyPort: number, name: string): Promise<() => void> {
  const state = readLabState(haproxyPort);
  const port = state.options.ports.postgres[memberIndex(name)]!;
  const result = await runSql<{ pid: number }>(port, ['SELECT pid FROM pg_stat_wal_receiver']);
  const pid = result?.rows[0]?.pid;
  if (!pid) throw new LabError(`${name} has no WAL receiver: is it a streaming replica?`);
  process.kill(pid, 'SIGSTOP');
  return () => process.kill(pid, 'SIGCONT');
}
