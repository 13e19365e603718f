import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AWS_CALL_TIMEOUTS, type AwsSettings } from '../lambdas/adapters/awsClients.js';
import type { AwsTarget } from './aws.js';
import { EmulatorError } from './errors.js';

/**
 * The local AWS: moto's server (DynamoDB with Streams, SNS, SQS, Secrets Manager) from the project venv,
 * on a free loopback port. Same SDK clients as on AWS, pointed at it through `endpoint`.
 */
export interface LocalAws {
  readonly endpoint: string;
  /** The same emulator on a port it always serves first: the poller's lane (see moto_server_serial.py). */
  readonly laneEndpoint: string;
  /** The emulator's process (tests stop and continue it to play a hung store). */
  readonly pid: number;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  stop(): Promise<void>;
}

const VENV_PYTHON = join(import.meta.dirname, '..', '.venv', 'bin', 'python');
const MOTO_SERVER = join(import.meta.dirname, '..', '.venv', 'bin', 'moto_server');
const SERIAL_LAUNCHER = join(import.meta.dirname, 'moto_server_serial.py');
const START_TIMEOUT_MS = 30_000;

/** A port the kernel says is free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** True when a moto server answers at the endpoint (its management API), within a second. */
export async function emulatorAnswers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.status < 500;
  } catch {
    return false;
  }
}

/** Why moto ended before it answered: a port already taken, said plainly, or the end of what it printed. */
function exitedEarly(code: number, stderr: string, ports: readonly number[]): EmulatorError {
  if (stderr.includes('Address already in use')) {
    return new EmulatorError(
      `moto_server could not listen: port ${ports.join(' or ')} on 127.0.0.1 is in use; stop what listens there, or set FAILOVER_LOCAL_AWS_PORT to a free port (the next one must be free too)`,
    );
  }
  return new EmulatorError(`moto_server exited with code ${code}: ${stderr.trim()}`);
}

/** Starts moto and resolves once it answers; the returned `stop` ends it and waits for its exit (bounded). */
export async function startLocalAws(options: { port?: number; lanePort?: number } = {}): Promise<LocalAws> {
  if (!existsSync(MOTO_SERVER)) {
    throw new EmulatorError(`${MOTO_SERVER} not found: run \`npm run setup\` to create the project venv with moto[server]`);
  }
  const port = options.port ?? (await freePort());
  const lanePort = options.lanePort ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  // One request at a time: see moto_server_serial.py for the transaction race this avoids.
  const child: ChildProcess = spawn(VENV_PYTHON, [SERIAL_LAUNCHER, '127.0.0.1', String(port), String(lanePort)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await emulatorAnswers(endpoint))) {
    if (child.exitCode !== null) throw exitedEarly(child.exitCode, stderr, [port, lanePort]);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new EmulatorError(`moto_server did not answer on ${endpoint} within ${START_TIMEOUT_MS / 1000} s: ${stderr.trim()}`);
    }
    await sleep(100);
  }
  return {
    endpoint,
    laneEndpoint: `http://127.0.0.1:${lanePort}`,
    pid: child.pid!,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** SDK client settings for the emulator (or, with no emulator, for whatever AWS the environment names). */
export function awsClientConfig(aws: LocalAws): AwsSettings {
  return { ...AWS_CALL_TIMEOUTS, endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials, maxAttempts: 2 };
}

/** The emulator as a pipeline's AWS, the poller's commits on its lane. */
export function emulatorTarget(aws: LocalAws, description: string): AwsTarget {
  return {
    clientConfig: awsClientConfig(aws),
    pollerClientConfig: { ...awsClientConfig(aws), endpoint: aws.laneEndpoint },
    description,
    ownedEmulator: null,
  };
}
