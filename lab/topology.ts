import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabError } from './errors.js';

/** Which Patroni the lab runs: Debian's 3.0.2 (says `master`) or 4.x from the project venv (says `primary`). */
export type PatroniMajor = 3 | 4;

export const MEMBER_NAMES = ['pg_node1', 'pg_node2', 'pg_node3'] as const;
export type MemberName = (typeof MEMBER_NAMES)[number];

export interface LabPorts {
  readonly haproxy: number;
  readonly haproxyStats: number;
  readonly etcdClient: number;
  readonly etcdPeer: number;
  /** PostgreSQL port of each member, in MEMBER_NAMES order. */
  readonly postgres: readonly number[];
  /** Patroni REST API port of each member, in MEMBER_NAMES order. */
  readonly restApi: readonly number[];
}

/** Patroni's timing knobs (DCS dynamic configuration) and HAProxy's health-check interval. */
export interface LabTimings {
  readonly ttl: number;
  readonly loopWait: number;
  readonly retryTimeout: number;
  readonly haproxyInterSeconds: number;
  /** How long a crashed primary may take to restart before Patroni fails over; 0 = fail over at once. */
  readonly primaryStartTimeout: number;
}

export interface LabOptions {
  readonly patroni: PatroniMajor;
  readonly scope: string;
  readonly ports: LabPorts;
  readonly timings: LabTimings;
  /**
   * TLS on every member's REST API (with basic auth on its unsafe endpoints) and on PostgreSQL, signed by a CA
   * made for the lab; the probe role may then log in over TLS only. @default false
   */
  readonly tls?: boolean;
}

/** The failover guide's layout: HAProxy on 5000, Patroni REST on 8008-8010, stats on 7000. */
export const GUIDE_PORTS: LabPorts = {
  haproxy: 5000,
  haproxyStats: 7000,
  etcdClient: 2379,
  etcdPeer: 2380,
  postgres: [5432, 5433, 5434],
  restApi: [8008, 8009, 8010],
};

/** HAProxy's `fall` and `rise` in the lab's configuration: Patroni's sample values, in every profile. */
export const LAB_HAPROXY_CHECKS = { fall: 3, rise: 2 } as const;

/** Patroni's documented defaults, as the guide uses them, with HAProxy checking every 3 s. */
export const GUIDE_TIMINGS: LabTimings = { ttl: 30, loopWait: 10, retryTimeout: 10, haproxyInterSeconds: 3, primaryStartTimeout: 300 };

/**
 * Every port moved to a block starting at `base`, so that two labs can run side by side.
 * @example portsFromBase(15000).restApi // [15020, 15021, 15022]
 */
export function portsFromBase(base: number): LabPorts {
  if (!Number.isInteger(base) || base < 1024 || base > 65_000) {
    throw new LabError(`--base-port must be an integer between 1024 and 65000 (got ${base})`);
  }
  return {
    haproxy: base,
    haproxyStats: base + 1,
    etcdClient: base + 2,
    etcdPeer: base + 3,
    postgres: [base + 10, base + 11, base + 12],
    restApi: [base + 20, base + 21, base + 22],
  };
}

export function allPorts(ports: LabPorts): number[] {
  return [ports.haproxy, ports.haproxyStats, ports.etcdClient, ports.etcdPeer, ...ports.postgres, ...ports.restApi];
}

/** A lab is known by its HAProxy port: that is the address its clients use. */
export function labDirectory(haproxyPort: number): string {
  return join(tmpdir(), `failover-lab-${haproxyPort}`);
}

/**
 * Checks Patroni's own rule (loop_wait + 2 * retry_timeout <= ttl, ttl >= 20) before anything starts,
 * because Patroni would otherwise start and silently misbehave.
 */
export function validateTimings(timings: LabTimings): void {
  const { ttl, loopWait, retryTimeout, haproxyInterSeconds } = timings;
  if (ttl < 20) throw new LabError(`--ttl must be at least 20 s, Patroni's minimum (got ${ttl})`);
  if (loopWait < 1) throw new LabError(`--loop-wait must be at least 1 s (got ${loopWait})`);
  if (retryTimeout < 3) throw new LabError(`--retry-timeout must be at least 3 s (got ${retryTimeout})`);
  if (loopWait + 2 * retryTimeout > ttl) {
    throw new LabError(
      `Patroni needs loop_wait + 2 * retry_timeout <= ttl (got ${loopWait} + 2 * ${retryTimeout} > ${ttl}): ` +
        'raise --ttl or lower --loop-wait / --retry-timeout',
    );
  }
  if (!(timings.primaryStartTimeout >= 0)) {
    throw new LabError(`--primary-start-timeout must be 0 or more seconds (got ${timings.primaryStartTimeout})`);
  }
  if (!(haproxyInterSeconds > 0)) throw new LabError(`--haproxy-inter must be positive (got ${haproxyInterSeconds})`);
}
