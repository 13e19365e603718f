import { PatroniClient } from '../adapters/patroni/PatroniClient.js';
import { resolvePassword } from '../adapters/secrets.js';
import { type ClusterConfig, type PipelineConfig, passwordFromEnv } from '../config/config.js';
import type { Clock, ClusterTarget, EventStore, Log } from '../domain/ports.js';
import { ClusterWatcher, type WatcherOptions } from '../services/poller/ClusterWatcher.js';

/** How a cluster of the configuration is read: members, timeout, TLS and basic auth. */
export function clusterTarget(cluster: ClusterConfig, config: PipelineConfig, apiPassword?: string): ClusterTarget {
  const api = cluster.patroni;
  const password = apiPassword ?? (api ? passwordFromEnv(api, `clusters.${cluster.name}.patroni`) : undefined);
  return {
    name: cluster.name,
    members: cluster.members,
    http: {
      timeoutMs: api?.timeoutMs ?? config.poll.timeoutMs,
      ...(api?.caFile ? { caFile: api.caFile } : {}),
      ...(api?.username && password ? { basicAuth: { username: api.username, password } } : {}),
    },
  };
}

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
  const watchers = config.clusters.map(
    (cluster, i) =>
      new ClusterWatcher(targets[i]!, { scope: cluster.scope }, { observer, store: deps.store, clock, log: deps.log }, deps.watcherOptions),
  );
  return { observer, watchers };
}
