import { type ClusterConfig, type PipelineConfig, passwordFromEnv } from '../config/config.js';
import type { ClusterTarget } from '../domain/ports.js';

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
