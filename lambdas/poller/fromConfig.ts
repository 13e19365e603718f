import type { ClusterTarget } from '../adapters/patroni/PatroniClient.js';
import { passwordFromEnv, type ClusterConfig, type PipelineConfig } from '../config/config.js';
import { ClusterWatcher, type WatcherDeps, type WatcherOptions } from './ClusterWatcher.js';

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

/** One watcher per configured cluster; the same wiring serves the Lambda handler and `failover watch`. */
export function watchersFromConfig(config: PipelineConfig, deps: WatcherDeps, options: WatcherOptions = {}): ClusterWatcher[] {
  return config.clusters.map(
    (cluster) => new ClusterWatcher(clusterTarget(cluster, config), { scope: cluster.scope }, deps, options),
  );
}
