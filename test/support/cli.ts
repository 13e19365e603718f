import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/**
 * An environment with no AWS configuration at all: no AWS_* variable, and a HOME without ~/.aws, so the machine's
 * own profiles never decide where a test's calls go.
 */
export function unconfiguredAws(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: mkdtempSync(join(tmpdir(), 'home-')) };
  for (const key of Object.keys(env))
    if (key.startsWith('AWS_') && key !== 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') delete env[key];
  return { ...env, ...extra };
}
