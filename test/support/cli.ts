import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { captureLog } from './logCapture.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'failover.mjs');

/** Runs the real `failover` command as a user would, with a time limit. */
export function runFailover(args: readonly string[], timeoutMs = 180_000, env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      captureLog('cli', `${stdout}${stderr}`);
      resolve({ code, stdout, stderr });
    });
  });
}
