import type { Command } from 'commander';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoEventStore, ensureTable } from '../lambdas/adapters/dynamodb/EventStore.js';
import { PatroniClient } from '../lambdas/adapters/patroni/PatroniClient.js';
import { loadConfig } from '../lambdas/config/config.js';
import { describeEvent } from '../lambdas/core/describe.js';
import type { ClusterEvent } from '../lambdas/core/events.js';
import { watchersFromConfig } from '../lambdas/poller/fromConfig.js';
import { runPollLoop } from '../lambdas/poller/runPoller.js';
import { resolveAws, LOCAL_AWS_PORT } from '../local/aws.js';
import { startLocalAws } from '../local/emulator.js';
import { positiveNumber } from './labCommands.js';
import { stderrLog } from './log.js';
import { parseTime } from './time.js';

/** `--json`: exactly one JSON object per line per event; otherwise one readable line. */
export function formatEvent(event: ClusterEvent, json: boolean): string {
  if (json) return JSON.stringify(event);
  return `${new Date(event.observedAt).toISOString()}  ${event.cluster}  ${event.type.padEnd(20)}  ${describeEvent(event)}`;
}

export function registerWatchCommands(program: Command): void {
  program
    .command('watch')
    .description('run the poller on this machine and print each event as it is recorded')
    .requiredOption('--config <file>', 'configuration file (YAML or JSON)')
    .option('--interval <s>', 'seconds between polls of a cluster (overrides poll.intervalSeconds)', positiveNumber('--interval'))
    .option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)', positiveNumber('--duration'))
    .option('--json', 'one JSON object per line per event')
    .action(async (opts) => {
      const config = loadConfig(opts.config);
      const intervalSeconds = opts.interval ?? config.poll.intervalSeconds;
      if (intervalSeconds < 1) throw new RangeError(`--interval must be at least 1 s (got ${intervalSeconds})`);
      const log = stderrLog();
      const aws = await resolveAws({ start: true });
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const observer = new PatroniClient(Date.now, { timeoutMs: config.poll.timeoutMs });
      try {
        const dynamo = new DynamoDBClient(aws.clientConfig);
        if (await ensureTable(dynamo, config.store.tableName)) log.info(`created table ${config.store.tableName}`);
        log.info(`recording to ${aws.description}, table ${config.store.tableName}`);
        const store = new DynamoEventStore({ tableName: config.store.tableName, retentionDays: config.store.retentionDays, client: dynamo });
        const watchers = watchersFromConfig(config, { observer, store, clock: Date.now, log });
        const summary = await runPollLoop(watchers, {
          intervalMs: intervalSeconds * 1000,
          deadline: opts.duration ? Date.now() + opts.duration * 1000 : Number.MAX_SAFE_INTEGER,
          pollBudgetMs: 0,
          signal: abort.signal,
          onRecorded: (_cluster, events) => {
            for (const event of events) process.stdout.write(`${formatEvent(event, Boolean(opts.json))}\n`);
          },
        });
        log.info(`stopped after ${summary.polls} polls, ${summary.events} events, ${summary.failedPolls} failed polls`);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await observer.close();
        await aws.ownedEmulator?.stop();
      }
    });

  program
    .command('history')
    .description("a cluster's recorded events, oldest first")
    .requiredOption('--cluster <name>', 'cluster name as configured')
    .option('--since <time>', 'ISO-8601 time, or a duration ago such as 2h or 30m', parseTime)
    .option('--until <time>', 'ISO-8601 time, or a duration ago', parseTime)
    .option('--table <name>', 'DynamoDB table', 'failover-events')
    .option('--json', 'one JSON object per line per event')
    .action(async (opts) => {
      const aws = await resolveAws({ start: false });
      const store = new DynamoEventStore({ tableName: opts.table, client: new DynamoDBClient(aws.clientConfig) });
      let cursor: string | undefined;
      do {
        const page = await store.listEvents(opts.cluster, { since: opts.since, until: opts.until, cursor });
        for (const event of page.events) process.stdout.write(`${formatEvent(event, Boolean(opts.json))}\n`);
        cursor = page.cursor;
      } while (cursor);
    });

  program
    .command('emulator')
    .description(`run the local AWS emulator (moto) on 127.0.0.1:${LOCAL_AWS_PORT} until Ctrl-C, for watch and history to share`)
    .action(async () => {
      const aws = await startLocalAws({ port: LOCAL_AWS_PORT });
      process.stderr.write(`local AWS emulator at ${aws.endpoint}; Ctrl-C stops it\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await aws.stop();
    });
}
