import { labDown, labUp } from './lab.js';
import { labStateExists } from './state.js';
import { type LabOptions, type PatroniMajor, portsFromBase } from './topology.js';

/**
 * Fast timings for tests: Patroni's minimum ttl, a 2 s HA loop, HAProxy checking every second, and a crashed
 * primary failed over at once so that every failure mode ends with a new leader.
 */
export function fastLabOptions(patroni: PatroniMajor, basePort: number, overrides: Partial<LabOptions['timings']> = {}): LabOptions {
  return {
    patroni,
    scope: 'denemek',
    ports: portsFromBase(basePort),
    timings: { ttl: 20, loopWait: 2, retryTimeout: 5, haproxyInterSeconds: 1, primaryStartTimeout: 0, ...overrides },
  };
}

/** Starts a lab for a test file, first removing one that a crashed earlier run may have left on its ports. */
export async function freshLab(options: LabOptions): Promise<void> {
  if (labStateExists(options.ports.haproxy)) await labDown(options.ports.haproxy);
  await labUp(options);
}
