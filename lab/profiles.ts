import { labDown, labUp } from './lab.js';
import { labStateExists } from './state.js';
import { GUIDE_TIMINGS, LAB_HAPROXY_CHECKS, type LabOptions, type LabTimings, type PatroniMajor, portsFromBase } from './topology.js';

/**
 * The lab's two timing profiles.
 * - `fast`, for tests: Patroni's minimum ttl, a 2 s HA loop, HAProxy checking every second, and a crashed primary
 *   failed over at once so that every failure mode ends with a new leader.
 * - `field`: what clusters really run: Patroni's defaults (ttl 30, loop_wait 10, retry_timeout 10,
 *   primary_start_timeout 300) behind the HAProxy of Patroni's sample configuration (`inter 3s fall 3 rise 2`).
 */
export type LabProfile = 'fast' | 'field';

export const LAB_PROFILES: Readonly<Record<LabProfile, LabTimings>> = {
  fast: { ttl: 20, loopWait: 2, retryTimeout: 5, haproxyInterSeconds: 1, primaryStartTimeout: 0 },
  field: GUIDE_TIMINGS,
};

export function isLabProfile(value: string): value is LabProfile {
  return Object.hasOwn(LAB_PROFILES, value);
}

/** A lab on its own block of ports with a profile's timings. */
export function labOptions(profile: LabProfile, patroni: PatroniMajor, basePort: number, overrides: Partial<LabTimings> = {}): LabOptions {
  return { patroni, scope: 'denemek', ports: portsFromBase(basePort), timings: { ...LAB_PROFILES[profile], ...overrides } };
}

/** The `fast` profile: what most tests run. */
export function fastLabOptions(patroni: PatroniMajor, basePort: number, overrides: Partial<LabTimings> = {}): LabOptions {
  return labOptions('fast', patroni, basePort, overrides);
}

/** The lab's HAProxy as a cluster's `haproxy` configuration block: its stats page and check timings. */
export function labHaproxyConfig(options: LabOptions): { statsUrl: string; interSeconds: number; fall: number; rise: number } {
  return {
    statsUrl: `http://127.0.0.1:${options.ports.haproxyStats}/`,
    interSeconds: options.timings.haproxyInterSeconds,
    ...LAB_HAPROXY_CHECKS,
  };
}

/** Starts a lab for a test file, first removing one that a crashed earlier run may have left on its ports. */
export async function freshLab(options: LabOptions): Promise<void> {
  if (labStateExists(options.ports.haproxy)) await labDown(options.ports.haproxy);
  await labUp(options);
}
