/**
 * The poller of local mode on a thread of its own (started by `pollerThread.ts`): its own event loop and its own
 * AWS clients, so a storm's notifications and probes on the main thread never delay a poll round, and a round's
 * CPU burst never delays them. The same composition and loop as the poller Lambda; only the trigger differs.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { PipelineConfig } from '../lambdas/config/config.js';
import { FailoverError, messageOf } from '../lambdas/domain/errors.js';
import type { Log } from '../lambdas/domain/ports.js';
import { unwatchedAfterMs } from '../lambdas/services/poller/ClusterWatcher.js';
import { runPollLoop } from '../lambdas/services/poller/pollLoop.js';
import { AwsClients } from '../lambdas/wiring/clients.js';
import { localEventStore } from '../lambdas/wiring/local.js';
import { composePoller } from '../lambdas/wiring/poller.js';
import type { FromPoller, PollerStart, ToPoller } from './pollerThread.js';

function parent(): MessagePort {
  if (!parentPort) throw new Error('pollerWorker.ts runs as a worker thread of local/pollerThread.ts');
  return parentPort;
}

// No stack trace ever leaves this thread: a log line's fields cross as JSON (an error in them as its message) and a
// failure as its message. Capturing them is not free: undici ends every connection Patroni closes with an error
// object, and Node's stream reads its stack; by hand, a 1,000-cluster round took 570 ms without stacks against 742 ms.
// The limit is this thread's own (a worker has its own isolate): the main thread's errors keep their stacks.
Error.stackTraceLimit = 0;

const port = parent();
const send = (message: FromPoller) => port.postMessage(message);

/** A log line's fields as plain data (a field may hold anything, and only plain data crosses to the main thread). */
function plain(fields: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(fields)) as Record<string, unknown>;
  } catch (error) {
    return { unloggableFields: messageOf(error) };
  }
}

/** Log lines go to the main thread's log. */
const log: Log = Object.fromEntries(
  (['debug', 'info', 'warn', 'error'] as const).map((level) => [
    level,
    (message: string, ...extra: Record<string, unknown>[]) => send({ kind: 'log', level, message, extra: extra.map(plain) }),
  ]),
) as unknown as Log;

async function main(start: PollerStart): Promise<void> {
  const config: PipelineConfig = start.config;
  const observe = start.countAwsCalls ? (client: string, command: string) => send({ kind: 'awsCall', client, command }) : undefined;
  const store = localEventStore(new AwsClients(start.clientConfig, observe), config.store.tableName, config.store.retentionDays, log);
  const { observer, watchers } = await composePoller(config, {
    store,
    log,
    watcherOptions: { unwatchedAfterMs: unwatchedAfterMs(start.intervalMs) },
  });
  const abort = new AbortController();
  port.on('message', (message: ToPoller) => {
    if (message.kind === 'stop') abort.abort();
  });
  send({ kind: 'started' });
  const summary = await runPollLoop(watchers, {
    intervalMs: start.intervalMs,
    deadline: Number.MAX_SAFE_INTEGER,
    pollBudgetMs: 0,
    signal: abort.signal,
    onOverrun: (report) => send({ kind: 'overrun', report }),
    onRecorded: (_cluster, events) => send({ kind: 'recorded', events }),
  });
  await observer.close();
  send({ kind: 'finished', summary });
  port.close();
}

main(workerData as PollerStart).catch((error: unknown) => {
  send({ kind: 'failed', message: messageOf(error), exitCode: error instanceof FailoverError ? error.exitCode : 1 });
  port.close();
});
