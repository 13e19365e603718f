import { PatroniClient } from '../adapters/patroni/PatroniClient.js';
import { resolvePassword } from '../adapters/secrets.js';
import { type PipelineConfig, readinessPolicy } from '../config/config.js';
import type { ClusterStatus } from '../domain/status.js';
import { readStatus } from '../services/status/readStatus.js';
import { clusterTarget } from './targets.js';

/** `failover status`: every configured cluster read once through the same Patroni client the poller uses. */
export async function fleetStatus(config: PipelineConfig): Promise<ClusterStatus[]> {
  const observer = new PatroniClient(Date.now, { timeoutMs: config.poll.timeoutMs });
  try {
    const clusters = await Promise.all(
      config.clusters.map(async (cluster) => {
        const api = cluster.patroni;
        const password = api?.username ? await resolvePassword(api, `clusters.${cluster.name}.patroni`) : undefined;
        return { target: clusterTarget(cluster, config, password), policy: readinessPolicy(config, cluster) };
      }),
    );
    return await readStatus(observer, clusters);
  } finally {
    await observer.close();
  }
}
