import { FailoverError } from '../lambdas/domain/errors.js';

/** Base class of every error the lab raises; the CLI prints its message without a stack. */
export class LabError extends FailoverError {}

export class LabTimeoutError extends LabError {
  constructor(what: string, timeoutMs: number, lastSeen?: string) {
    super(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${lastSeen ? ` (last seen: ${lastSeen})` : ''}`);
  }
}

export class PortInUseError extends LabError {
  constructor(
    readonly port: number,
    readonly holder: string,
  ) {
    super(`port ${port} on 127.0.0.1 is taken by ${holder}: stop it, or choose other ports with --base-port`);
  }
}

export class NoLabError extends LabError {
  constructor(dir: string, haproxyPort: number) {
    super(
      `no lab is running with HAProxy on port ${haproxyPort} (no state in ${dir}): ` +
        'start one with `failover lab up`, or pass the --base-port it was started with',
    );
  }
}
