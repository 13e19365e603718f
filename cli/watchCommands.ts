import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../lambdas/config/config.js';
import type { Alert } from '../lambdas/domain/alerts.js';
import { describeEvent } from '../lambdas/domain/describe.js';
import { ConfigError, StoreError, UsageError } from '../lambdas/domain/errors.js';
import type { ClusterEvent } from '../lambdas/domain/events.js';
import { renderStatus } from '../lambdas/domain/status.js';
import { overrunMessage } from '../lambdas/services/poller/pollLoop.js';
import { fleetStatus } from '../lambdas/wiring/status.js';
import { LOCAL_AWS_LANE_PORT, LOCAL_AWS_PORT, resolveAws } from '../local/aws.js';
import { startLocalAws } from '../local/emulator.js';
import { startLocalPipeline } from '../local/pipeline.js';
import { addAwsOptions, awsChoice } from './awsOptions.js';
import { positiveNumber } from './labCommands.js';
import { stderrLog } from './log.js';

/**
 * What one `watch` process polls at most: `npm run bench` measured a round of 1,000 clusters at about 1.2 s on
 * 2 cores, so past this the rounds overrun and nearly every poll fails. Larger fleets shard.
 */
export const MAX_CLUSTERS_PER_WATCH = 1_000;

function assertWatchable(clusters: number, file: string): void {
  if (clusters <= MAX_CLUSTERS_PER_WATCH) return;
  throw new ConfigError(
    `${file} configures ${clusters} clusters; one \`failover watch\` polls at most ${MAX_CLUSTERS_PER_WATCH} ` +
      '(a round of 1,000 clusters takes about 1.2 s on 2 cores): split the clusters across several configuration files and ' +
      'watch processes, or deploy with aws.clustersPerPoller to shard them over several pollers',
  );
}

function statusFormat(value: string): 'table' | 'json' {
  if (value === 'table' || value === 'json') return value;
  throw new InvalidArgumentError(`must be table or json (got "${value}")`);
}

/** Resolves after `seconds`, or on Ctrl-C / SIGTERM, whichever comes first. */
function waitForStop(seconds: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    const timer = seconds ? setTimeout(done, seconds * 1000) : undefined;
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

export function formatAlert(alert: Alert): string {
  return `${alert.occurredAt}  ALERT ${alert.severity.toUpperCase().padEnd(8)} ${alert.subject}`;
}

/** `--json`: exactly one JSON object per line per event; otherwise one readable line. */
export function formatEvent(event: ClusterEvent, json: boolean): string {
  if (json) return JSON.stringify(event);
  return `${new Date(event.observedAt).toISOString()}  ${event.cluster}  ${event.type.padEnd(20)}  ${describeEvent(event)}`;
}

export function registerWatchCommands(program: Command): void {
  addAwsOptions(program.command('watch'))
    .description('run the poller on this machine and print each event as it is recorded')
    .requiredOption('--config <file>', 'configuration file (YAML or JSON)')
    .option('--interval <s>', 'seconds between polls of a cluster (overrides poll.intervalSeconds)', positiveNumber('--interval'))
    .option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)', positiveNumber('--duration'))
    .option('--json', 'one JSON object per line per event')
    .action(async (opts, command: Command) => {
      const config = loadConfig(opts.config);
      const intervalSeconds = opts.interval ?? config.poll.intervalSeconds;
      if (intervalSeconds < 1) throw new UsageError(`--interval must be at least 1 s (got ${intervalSeconds})`);
      assertWatchable(config.clusters.length, opts.config);
      const log = stderrLog();
      const json = Boolean(opts.json);
      const aws = await resolveAws({ start: true, choice: awsChoice(command) });
      try {
        log.info(`recording to ${aws.description}, table ${config.store.tableName}`);
        const pipeline = await startLocalPipeline({
          config,
          aws,
          log,
          intervalSeconds,
          onRecorded: (event) => process.stdout.write(`${formatEvent(event, json)}\n`),
          // With --json stdout carries events only; alerts go to stderr.
          onAlert: (alert) => (json ? process.stderr : process.stdout).write(`${formatAlert(alert)}\n`),
          onOverrun: (report) => process.stderr.write(`warning: ${overrunMessage(report)}\n`),
        });
        await waitForStop(opts.duration);
        const summary = await pipeline.stop();
        log.info(
          `stopped after ${summary.polls} polls, ${summary.events} events, ${summary.failedPolls} polls recorded late or not at all`,
        );
        if (summary.unrecorded > 0) {
          // A watch that could not record what it saw must not look like a clean one to a script.
          throw new StoreError(`${summary.unrecorded} observations could not be recorded: see the [error] lines above`);
        }
      } finally {
        await aws.ownedEmulator?.stop();
      }
    });

  program
    .command('status')
    .description(
      'each cluster now: leader, failover candidates and why each other member is not one, redundancy, lag, lock age, pending restarts, scheduled actions, verdict',
    )
    .requiredOption('--config <file>', 'configuration file (YAML or JSON)')
    .option('--format <format>', 'table | json (one object per cluster per line)', statusFormat, 'table')
    .action(async (opts: { config: string; format: 'table' | 'json' }) => {
      const statuses = await fleetStatus(loadConfig(opts.config));
      process.stdout.write(renderStatus(statuses, opts.format));
    });

  program
    .command('emulator')
    .description(
      `run the local AWS emulator (moto) on 127.0.0.1:${LOCAL_AWS_PORT} (and ${LOCAL_AWS_LANE_PORT}, the poller's lane) until Ctrl-C, for watch and history to share`,
    )
    .action(async () => {
      const aws = await startLocalAws({ port: LOCAL_AWS_PORT, lanePort: LOCAL_AWS_LANE_PORT });
      process.stderr.write(`local AWS emulator at ${aws.endpoint} (the poller's lane at ${aws.laneEndpoint}); Ctrl-C stops it\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await aws.stop();
    });
}
