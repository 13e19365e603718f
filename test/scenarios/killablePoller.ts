// A poller that dies between observing a leader change and recording it: the same watcher and store as the
// pipeline's, with the store's commit replaced by SIGKILL of this process the first time a commit would record a
// leader_changed. Run by the scenario suite as a child process; argv[2] is the pipeline config, argv[3] the AWS
// client config, both as JSON.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoEventStore } from '../../lambdas/adapters/dynamodb/EventStore.js';
import { PatroniClient } from '../../lambdas/adapters/patroni/PatroniClient.js';
import type { PipelineConfig } from '../../lambdas/config/config.js';
import { watchersFromConfig } from '../../lambdas/poller/fromConfig.js';
import { runPollLoop } from '../../lambdas/poller/runPoller.js';

const config = JSON.parse(process.argv[2]!) as PipelineConfig;
const clientConfig = JSON.parse(process.argv[3]!);
const store = new DynamoEventStore({ tableName: config.store.tableName, retentionDays: config.store.retentionDays, client: new DynamoDBClient(clientConfig) });
const commit = store.commit.bind(store);
store.commit = async (previousVersion, state, events) => {
  if (events.some((e) => e.type === 'leader_changed')) {
    process.send?.('observed');
    process.kill(process.pid, 'SIGKILL');
  }
  return commit(previousVersion, state, events);
};
const observer = new PatroniClient(Date.now, { timeoutMs: config.poll.timeoutMs });
const watchers = watchersFromConfig(config, { observer, store, clock: Date.now, log: { debug() {}, info() {}, warn() {}, error() {} } });
process.send?.('polling');
// Bounded: the suite kills it long before this.
await runPollLoop(watchers, { intervalMs: 1_000, deadline: Date.now() + 120_000, pollBudgetMs: 0 });
await observer.close();
