import { PgWriteProber } from '../adapters/postgres/PgWriteProber.js';
import { vipTarget } from '../adapters/secrets.js';
import { type ClusterConfig, type PipelineConfig, probeStabilityWindowMs } from '../config/config.js';
import type { ClusterEvent } from '../domain/events.js';
import type { Clock, Log, NotifierStore, ProbeRequest, WriteProber } from '../domain/ports.js';
import { type CanaryTarget, runCanary } from '../services/prober/canary.js';
import { runProbe } from '../services/prober/probe.js';
import type { VerifyOptions } from '../services/prober/verifyWrites.js';

export interface ProberDeps {
  readonly store: Pick<NotifierStore, 'recordEvent'>;
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
  const vips = new Map(config.clusters.flatMap((c) => (c.vip ? [[c.name, c.vip] as const] : [])));
  const clusters = new Map(config.clusters.map((c) => [c.name, c]));
  return {
    covers: (cluster) => vips.has(cluster),
    async probe({ trigger, incidentKey }, hardStopAt) {
      const vip = vips.get(trigger.cluster);
      const cluster = clusters.get(trigger.cluster);
      if (!vip || !cluster) {
        deps.log.warn('no VIP configured for the cluster; nothing to probe', { cluster: trigger.cluster });
        return null;
      }
      const target = await vipTarget(trigger.cluster, vip);
      return runProbe(
        trigger,
        incidentKey,
        target,
        { store: deps.store, prober, clock, log: deps.log },
        { ...probeOptions(config, cluster), hardStopAt },
      );
    },
    async canary() {
      const targets: CanaryTarget[] = await Promise.all(
        [...vips].map(async ([cluster, vip]) => ({ cluster, vip: await vipTarget(cluster, vip) })),
      );
      return runCanary(targets, { prober, store: deps.store, log: deps.log });
    },
  };
}
