import { HaproxyStats } from '../adapters/haproxy/HaproxyStats.js';
import { PatroniClient } from '../adapters/patroni/PatroniClient.js';
import { PgWriteProber } from '../adapters/postgres/PgWriteProber.js';
import { resolvePassword, vipTarget } from '../adapters/secrets.js';
import { type ClusterConfig, type PipelineConfig, probeStabilityWindowMs } from '../config/config.js';
import { SAMPLE_HAPROXY_TIMINGS } from '../domain/anatomy.js';
import type { ClusterEvent } from '../domain/events.js';
import type { Clock, EventStore, Log, NotifierStore, ProbeRequest, VipTarget, WriteProber } from '../domain/ports.js';
import type { AnatomyContext } from '../services/prober/anatomyEvidence.js';
import { type CanaryTarget, runCanary } from '../services/prober/canary.js';
import { runProbe } from '../services/prober/probe.js';
import type { VerifyOptions } from '../services/prober/verifyWrites.js';
import { clusterTarget } from './targets.js';

export interface ProberDeps {
  /** Records the verdict; reads the incident's events for its anatomy. */
  readonly store: Pick<NotifierStore, 'recordEvent'> & Pick<EventStore, 'listEvents'>;
  readonly log: Log;
  readonly clock?: Clock;
  /** The real `pg` prober unless a test injects one. */
  readonly prober?: WriteProber;
}

export interface Prober {
  /** Probes the trigger's cluster through its VIP and records the verdict; null when the cluster has no VIP. */
  probe(request: ProbeRequest, hardStopAt?: number): Promise<ClusterEvent | null>;
  /** One canary write through every configured VIP. */
  canary(): Promise<{ checked: number; failed: ClusterEvent[] }>;
  /** Whether a cluster has a VIP to probe. */
  covers(cluster: string): boolean;
  /** Closes the Patroni and HAProxy connections the anatomy opened. */
  close(): Promise<void>;
}

/** What the anatomy of one cluster's incidents may read, from its configuration. */
async function anatomyContext(config: PipelineConfig, cluster: ClusterConfig, vip: VipTarget): Promise<AnatomyContext> {
  const api = cluster.patroni;
  const password = api?.username ? await resolvePassword(api, `clusters.${cluster.name}.patroni`) : undefined;
  const haproxy = cluster.haproxy;
  return {
    target: clusterTarget(cluster, config, password),
    vip,
    probeMembersDirectly: cluster.vip?.probeMembersDirectly === true,
    statsUrl: haproxy?.statsUrl ?? null,
    haproxy: haproxy
      ? { interSeconds: haproxy.interSeconds, fall: haproxy.fall, rise: haproxy.rise, assumed: false }
      : SAMPLE_HAPROXY_TIMINGS,
  };
}

/** The probe's timing for one cluster from the configuration: the same for the prober Lambda and local mode. */
export function probeOptions(config: PipelineConfig, cluster: ClusterConfig): VerifyOptions {
  return {
    deadlineMs: config.notify.probe.deadlineSeconds * 1000,
    intervalMs: config.notify.probe.intervalMs,
    stabilityWindowMs: probeStabilityWindowMs(config, cluster),
  };
}

/**
 * The write probe and the canary of the prober Lambda and of local mode. VIP passwords come from the
 * environment or Secrets Manager at run time.
 */
export function composeProber(config: PipelineConfig, deps: ProberDeps): Prober {
  const prober = deps.prober ?? new PgWriteProber();
  const clock = deps.clock ?? Date.now;
  // The clusters with a VIP: the ones there is something to probe.
  const probed = new Map(config.clusters.flatMap((c) => (c.vip ? [[c.name, { cluster: c, vip: c.vip }] as const] : [])));
  const patroni = new PatroniClient(clock, { timeoutMs: config.poll.timeoutMs });
  const haproxyStats = new HaproxyStats(clock);
  const sources = { events: deps.store, settings: patroni, leader: patroni, haproxyStats, prober, clock };
  return {
    async close() {
      await Promise.all([patroni.close(), haproxyStats.close()]);
    },
    covers: (cluster) => probed.has(cluster),
    async probe({ trigger, incidentKey }, hardStopAt) {
      const entry = probed.get(trigger.cluster);
      if (!entry) {
        deps.log.warn('no VIP configured for the cluster; nothing to probe', { cluster: trigger.cluster });
        return null;
      }
      const target = await vipTarget(trigger.cluster, entry.vip);
      const context = await anatomyContext(config, entry.cluster, target);
      return runProbe(
        trigger,
        incidentKey,
        target,
        { store: deps.store, prober, clock, log: deps.log, anatomy: { context, sources } },
        { ...probeOptions(config, entry.cluster), hardStopAt },
      );
    },
    async canary() {
      const targets: CanaryTarget[] = await Promise.all(
        [...probed].map(async ([cluster, { vip }]) => ({ cluster, vip: await vipTarget(cluster, vip) })),
      );
      return runCanary(targets, { prober, store: deps.store, log: deps.log });
    },
  };
}
