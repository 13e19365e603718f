import { PatroniClient } from '../adapters/patroni/PatroniClient.js';
import { resolvePassword } from '../adapters/secrets.js';
import { type PipelineConfig, readinessPolicy } from '../config/config.js';
import type { Clock, EventStore, Log } from '../domain/ports.js';
import { ClusterWatcher, unwatchedAfterMs, type WatcherOptions } from '../services/poller/ClusterWatcher.js';
import { clusterTarget } from './targets.js';

export interface PollerDeps {
  readonly store: EventStore;
  readonly log: Log;
  readonly clock?: Clock;
  readonly watcherOptions?: WatcherOptions;
}

export interface Poller {
  readonly observer: PatroniClient;
  /** One per configured cluster, in configuration order. */
  readonly watchers: ClusterWatcher[];
}

/**
 * The poller of the Lambda handler and of `failover watch`: one watcher per configured cluster over one Patroni
 * client. Patroni API passwords come from the environment or Secrets Manager, at run time, never from the bundle.
 */
export async function composePoller(config: PipelineConfig, deps: PollerDeps): Promise<Poller> {
  const clock = deps.clock ?? Date.now;
  const observer = new PatroniClient(clock, { timeoutMs: config.poll.timeoutMs });
  const targets = await Promise.all(
    config.clusters.map(async (cluster) => {
      const api = cluster.patroni;
      const password = api?.username ? await resolvePassword(api, `clusters.${cluster.name}.patroni`) : undefined;
      return clusterTarget(cluster, config, password);
    }),
  );
  const options: WatcherOptions = {
    unwatchedAfterMs: unwatchedAfterMs(config.poll.intervalSeconds * 1000),
    settingsEveryMs: config.readiness.settingsEverySeconds * 1000,
    ...deps.watcherOptions,
  };
  const watchers = config.clusters.map(
    (cluster, i) =>
      new ClusterWatcher(
        targets[i]!,
        { scope: cluster.scope },
        { observer, store: deps.store, clock, log: deps.log },
        { readiness: readinessPolicy(config, cluster), ...options },
      ),
  );
  return { observer, watchers };
}
