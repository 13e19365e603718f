import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NoLabError } from './errors.js';
import { type LabOptions, labDirectory } from './topology.js';

/** What `lab up` started, so that `lab down` stops exactly that and nothing else. */
export interface LabState {
  readonly options: LabOptions;
  readonly dir: string;
  readonly etcdPid: number;
  readonly haproxyPid: number;
  /** Patroni PID per member name; updated by `rejoin`. */
  readonly patroniPids: Record<string, number>;
  readonly startedAt: string;
}

const STATE_FILE = 'lab-state.json';

export function writeLabState(state: LabState): void {
  const file = join(state.dir, STATE_FILE);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${file}.tmp`, file);
}

export function readLabState(haproxyPort: number): LabState {
  const dir = labDirectory(haproxyPort);
  const file = join(dir, STATE_FILE);
  if (!existsSync(file)) throw new NoLabError(dir, haproxyPort);
  return JSON.parse(readFileSync(file, 'utf8')) as LabState;
}

export function labStateExists(haproxyPort: number): boolean {
  return existsSync(join(labDirectory(haproxyPort), STATE_FILE));
}
