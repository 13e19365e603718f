import type { ClusterObserver, ClusterTarget } from '../../domain/ports.js';
import type { ReadinessPolicy } from '../../domain/readiness.js';
import { type ClusterStatus, clusterStatus } from '../../domain/status.js';

export interface StatusTarget {
  readonly target: ClusterTarget;
  readonly policy: ReadinessPolicy;
}

/** Clusters read at once: a fleet's status in a few rounds without opening thousands of connections together. */
const AT_ONCE = 64;

/**
 * Reads every cluster once, `/config` included, and judges it: the status of a fleet now, in configuration order.
 * Each read ends within the members' timeout (the observer never throws: an unreachable member is a status).
 */
export async function readStatus(observer: ClusterObserver, clusters: readonly StatusTarget[]): Promise<ClusterStatus[]> {
  const statuses: ClusterStatus[] = [];
  for (let start = 0; start < clusters.length; start += AT_ONCE) {
    const slice = clusters.slice(start, start + AT_ONCE);
    const observed = await Promise.all(slice.map(({ target }) => observer.observe(target, { timeline: null, readSettings: true })));
    statuses.push(...observed.map((observation, i) => clusterStatus(observation, slice[i]!.policy)));
  }
  return statuses;
}
