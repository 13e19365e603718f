// A poller that dies between observing a leader change and recording it: the same watcher and store as the
// pipeline's, with the store's commit replaced by SIGKILL of this process the first time a commit would record a
// leader_changed. Run by the scenario suite as a child process; argv[2] is the pipeline config, argv[3] the AWS
// client config, both as JSON.
import type { AwsSettings } from '../../lambdas/adapters/awsClients.js';
import type { PipelineConfig } from '../../lambdas/config/config.js';
import { runPollLoop } from '../../lambdas/services/poller/pollLoop.js';
import { AwsClients } from '../../lambdas/wiring/clients.js';
import { composePoller } from '../../lambdas/wiring/poller.js';

const config = JSON.parse(process.argv[2]!) as PipelineConfig;
const settings = JSON.parse(process.argv[3]!) as AwsSettings;
const store = new AwsClients(settings).eventStore(config.store.tableName, config.store.retentionDays);
const commit = store.commit.bind(store);
store.commit = async (previousVersion, state, events) => {
  if (events.some((e) => e.type === 'leader_changed')) {
    process.send?.('observed');
    process.kill(process.pid, 'SIGKILL');
  }
  return commit(previousVersion, state, events);
};
const { observer, watchers } = await composePoller(config, { store, log: { debug() {}, info() {}, warn() {}, error() {} } });
process.send?.('polling');
// Bounded: the suite kills it long before this.
await runPollLoop(watchers, { intervalMs: 1_000, deadline: Date.now() + 120_000, pollBudgetMs: 0 });
await observer.close();
