import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../lambdas/config/config.js';
import { UsageError } from '../lambdas/domain/errors.js';
import { type ClusterEvent, EVENT_TYPES, type EventType } from '../lambdas/domain/events.js';
import type { EventStore } from '../lambdas/domain/ports.js';
import { type Format, renderEvents, renderIncidents, renderPhases, renderSla } from '../lambdas/domain/reportFormats.js';
import { type Interval, incidentsFromEvents, monthPeriod, slaReport } from '../lambdas/domain/sla.js';
import { AwsClients } from '../lambdas/wiring/clients.js';
import { resolveAws } from '../local/aws.js';
import { parseTime } from './time.js';

/** Incidents can start before the period they are reported in: read this much further back. */
const LOOKBACK_MS = 86_400_000;

function format<T extends Format>(allowed: readonly T[]) {
  return (value: string): T => {
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(`must be one of ${allowed.join(', ')} (got "${value}")`);
  };
}

function eventTypes(value: string): EventType[] {
  const types = value.split(',').map((t) => t.trim());
  const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0)
    throw new InvalidArgumentError(`unknown event type ${unknown.join(', ')}: known types are ${EVENT_TYPES.join(', ')}`);
  return types as EventType[];
}

interface StoreOptions {
  readonly config?: string;
  readonly table?: string;
}

async function openStore(opts: StoreOptions): Promise<EventStore> {
  const tableName = opts.table ?? (opts.config ? loadConfig(opts.config).store.tableName : 'failover-events');
  const aws = await resolveAws({ start: false });
  return new AwsClients(aws.clientConfig).eventStore(tableName);
}

function requireScope(opts: { cluster?: string; allClusters?: boolean }): void {
  if (!opts.cluster && !opts.allClusters) throw new UsageError('give --cluster NAME or --all-clusters');
  if (opts.cluster && opts.allClusters) throw new UsageError('give --cluster NAME or --all-clusters, not both');
}

/** One cluster's events (paged through), or every cluster's of the range through the index. */
async function readEvents(
  store: EventStore,
  scope: { cluster?: string; allClusters?: boolean },
  range: { since?: number; until?: number },
): Promise<ClusterEvent[]> {
  if (scope.allClusters) {
    return store.listAllEvents({ since: range.since ?? Date.now() - 7 * 86_400_000, until: range.until ?? Date.now() });
  }
  if (!scope.cluster) throw new UsageError('give --cluster NAME or --all-clusters');
  const events: ClusterEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listEvents(scope.cluster, { since: range.since, until: range.until, cursor });
    events.push(...page.events);
    cursor = page.cursor;
  } while (cursor);
  return events;
}

function storeOptions(command: Command): Command {
  return command
    .option('--config <file>', 'configuration file, for its store.tableName')
    .option('--table <name>', "DynamoDB table (default: the configuration's, or failover-events)");
}

/** `--cluster` or `--all-clusters`, and the time range: the same on every reading command. */
function scopeAndRange(command: Command): Command {
  return command
    .option('--cluster <name>', 'one cluster, as configured')
    .option('--all-clusters', 'every cluster (through the byDay index)')
    .option('--since <time>', 'ISO-8601 time, or a duration ago such as 2h, 30m or 7d', (v) => parseTime(v))
    .option('--until <time>', 'ISO-8601 time, or a duration ago (default now)', (v) => parseTime(v));
}

function reportPeriod(opts: { month?: string; since?: number; until?: number }): Interval {
  if (opts.month) return monthPeriod(opts.month);
  if (opts.since === undefined) throw new UsageError('give --month YYYY-MM, or --since (and --until, default now)');
  const period = { start: opts.since, end: opts.until ?? Date.now() };
  if (!(period.end > period.start)) throw new UsageError('--until must be later than --since');
  return period;
}

export function registerReportCommands(program: Command): void {
  storeOptions(
    scopeAndRange(program.command('history').description('recorded events, oldest first (--all-clusters: the last 7 days by default)'))
      .option('--type <types>', 'only these event types, comma-separated', eventTypes)
      .option(
        '--format <format>',
        'table | json | csv (default: table in a terminal, json otherwise)',
        format(['table', 'json', 'csv'] as const),
      )
      .option('--json', 'same as --format json: one JSON object per line per event'),
  ).action(async (opts) => {
    requireScope(opts);
    const store = await openStore(opts);
    const events = (await readEvents(store, opts, opts)).filter((e) => !opts.type || opts.type.includes(e.type));
    const chosen = opts.json ? 'json' : (opts.format ?? (process.stdout.isTTY ? 'table' : 'json'));
    process.stdout.write(renderEvents(events, chosen));
  });

  storeOptions(
    scopeAndRange(
      program
        .command('incidents')
        .description("a cluster's incidents with their measured write downtime and its bounds, cause and phases (anatomy)"),
    )
      .option('--format <format>', 'table | json | csv | md', format(['table', 'json', 'csv', 'md'] as const), 'table')
      .option('--phases', 'one line per phase of each incident (table, csv, md) instead of one per incident'),
  ).action(async (opts) => {
    requireScope(opts);
    const store = await openStore(opts);
    const since = opts.since ?? 0;
    const events = await readEvents(store, opts, { since: Math.max(0, since - LOOKBACK_MS), until: opts.until });
    const incidents = incidentsFromEvents(events).filter(
      (i) => (i.end ?? Number.POSITIVE_INFINITY) >= since && (opts.until === undefined || i.start <= opts.until),
    );
    const phasesOnly = opts.phases === true && opts.format !== 'json';
    process.stdout.write(phasesOnly ? renderPhases(incidents, opts.format) : renderIncidents(incidents, opts.format));
  });

  storeOptions(
    scopeAndRange(
      program.command('sla').description('availability over a month or range against an SLO, with every incident and its bounds'),
    )
      .option('--month <YYYY-MM>', 'a calendar month in UTC (instead of --since/--until)')
      .option(
        '--slo <percent>',
        'availability objective in percent',
        (v) => {
          const n = Number(v);
          if (!(n > 0 && n <= 100)) throw new InvalidArgumentError(`must be a percentage in (0, 100] (got "${v}")`);
          return n;
        },
        99.95,
      )
      .option('--format <format>', 'table | md | json | csv | html', format(['table', 'md', 'json', 'csv', 'html'] as const), 'table')
      .option('--out <file>', 'write the report to a file instead of the terminal'),
  ).action(async (opts) => {
    requireScope(opts);
    const period = reportPeriod(opts);
    const store = await openStore(opts);
    const events = await readEvents(store, opts, { since: period.start - LOOKBACK_MS, until: period.end });
    const report = slaReport(incidentsFromEvents(events), period, opts.slo, Date.now());
    const scope = opts.allClusters ? 'all clusters' : opts.cluster;
    const text = renderSla(
      report,
      opts.format,
      `Availability of ${scope}, ${opts.month ?? `${new Date(period.start).toISOString()} - ${new Date(period.end).toISOString()}`}`,
      events,
    );
    if (opts.out) {
      writeFileSync(opts.out, text);
      process.stderr.write(`wrote ${opts.out}\n`);
    } else {
      process.stdout.write(text);
    }
  });
}
