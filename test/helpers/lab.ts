import { readdirSync, readFileSync } from 'node:fs';
import type { LabOptions, PatroniMajor } from '../../lab/topology.js';
import { portsFromBase } from '../../lab/topology.js';

/**
 * Fast timings for tests: Patroni's minimum ttl, a 2 s HA loop, HAProxy checking every second, and a crashed
 * primary failed over at once so that every failure mode ends with a new leader.
 */
export function testLabOptions(patroni: PatroniMajor, basePort: number, overrides: Partial<LabOptions['timings']> = {}): LabOptions {
  return {
    patroni,
    scope: 'denemek',
    ports: portsFromBase(basePort),
    timings: { ttl: 20, loopWait: 2, retryTimeout: 5, haproxyInterSeconds: 1, primaryStartTimeout: 0, ...overrides },
  };
}

/** PIDs of processes whose command line mentions `needle` (a lab directory), read from /proc. */
export function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const zombie = stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      if (!zombie && cmdline.includes(needle)) found.push(Number(entry));
    } catch {
      // Gone while reading.
    }
  }
  return found;
}

/** Starts a lab for a test file, first removing one that a crashed earlier run may have left on its ports. */
export async function freshLab(options: LabOptions): Promise<void> {
  const { labDown, labUp } = await import('../../lab/lab.js');
  const { labStateExists } = await import('../../lab/state.js');
  if (labStateExists(options.ports.haproxy)) await labDown(options.ports.haproxy);
  await labUp(options);
}
