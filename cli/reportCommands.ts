import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { distance } from 'fastest-levenshtein';
import { loadConfig, type PipelineConfig, sloPolicy } from '../lambdas/config/config.js';
import { UsageError } from '../lambdas/domain/errors.js';
import { type ClusterEvent, EVENT_TYPES, type EventType } from '../lambdas/domain/events.js';
import { leadershipIntervals } from '../lambdas/domain/leadership.js';
import type { ReportStore } from '../lambdas/domain/ports.js';
import {
  type Format,
  renderEvents,
  renderFleet,
  renderIncidents,
  renderLeaders,
  renderPhases,
  renderSla,
} from '../lambdas/domain/reportFormats.js';
import {
  DEFAULT_SLO,
  type Interval,
  incidentsFromEvents,
  type MaintenanceWindow,
  monthPeriod,
  type SloPolicy,
} from '../lambdas/domain/sla.js';
import {
  clusterCoverage,
  clusterEvents,
  clusterReport,
  eventsBefore,
  fleetSla,
  knownClusters,
  LOOKBACK_MS,
} from '../lambdas/services/reporter/slaReports.js';
import { AwsClients } from '../lambdas/wiring/clients.js';
import { resolveAws } from '../local/aws.js';
import { addAwsOptions, awsChoice } from './awsOptions.js';
import { parseTime } from './time.js';

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

function month(value: string): Interval {
  try {
    return monthPeriod(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function sloTarget(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 100)) throw new InvalidArgumentError(`must be a percentage in (0, 100] (got "${value}")`);
  return n;
}

/** `--exclude planned-switchovers` or `--exclude START/END` (a maintenance window, ISO-8601), repeatable. */
type ExclusionRule = MaintenanceWindow | 'planned-switchovers';

function exclusion(value: string, previous: ExclusionRule[] | undefined): ExclusionRule[] {
  if (value === 'planned-switchovers') return [...(previous ?? []), value];
  const [start, end, extra] = value.split('/').map((part) => Date.parse(part));
  if (extra !== undefined || start === undefined || end === undefined || Number.isNaN(start) || Number.isNaN(end) || end <= start)
    throw new InvalidArgumentError(
      `"${value}" is neither planned-switchovers nor a window START/END such as 2026-11-07T02:00Z/2026-11-07T03:00Z`,
    );
  return [...(previous ?? []), { start, end }];
}

interface StoreOptions {
  readonly config?: string;
  readonly table?: string;
  readonly stack?: string;
}

interface Opened {
  readonly store: ReportStore;
  readonly config: PipelineConfig | null;
}

/**
 * The audit trail the command reads: `--table`, else the table of the deployed stack (`--stack`, or the
 * configuration's `store.stack`) found through its discovery parameter, else the configuration's table name.
 */
async function openStore(opts: StoreOptions, command: Command): Promise<Opened> {
  const config = opts.config ? loadConfig(opts.config) : null;
  const aws = await resolveAws({ start: false, choice: awsChoice(command), onNote: (note) => process.stderr.write(`failover: ${note}\n`) });
  const stack = opts.stack ?? config?.store.stack;
  // The SSM client loads only when a stack is asked for: every other command starts without it.
  const discovered =
    !opts.table && stack
      ? await (await import('../lambdas/adapters/ssm/stackDiscovery.js')).readStackDiscovery(aws.clientConfig, stack)
      : null;
  const tableName = opts.table ?? discovered?.tableName;
  return { store: new AwsClients(aws.clientConfig).eventStore(tableName ?? config?.store.tableName ?? 'failover-events'), config };
}

function requireScope(opts: { cluster?: string; allClusters?: boolean }): void {
  if (!opts.cluster && !opts.allClusters) throw new UsageError('give --cluster NAME or --all-clusters');
  if (opts.cluster && opts.allClusters) throw new UsageError('give --cluster NAME or --all-clusters, not both');
}

/** A cluster the store has never watched (and the configuration does not name) is a typo until shown otherwise. */
async function requireKnownCluster(opened: Opened, cluster: string): Promise<void> {
  const known = await knownClusters(
    opened.store,
    opened.config?.clusters.map((c) => c.name),
  );
  if (known.includes(cluster)) return;
  // Recorded before the registry existed, and not polled since: its events still make it known.
  if ((await opened.store.listEvents(cluster, { limit: 1 })).events.length > 0) return;
  const closest = [...known].sort((a, b) => distance(cluster, a) - distance(cluster, b));
  const list = closest.length === 0 ? 'it has none yet (has the poller run against this table?)' : `it knows ${closest.join(', ')}`;
  throw new UsageError(`no cluster "${cluster}" in the audit trail: ${list}`);
}

/** One cluster's events (paged through), or every cluster's of the range through the index. */
async function readEvents(
  store: ReportStore,
  scope: { cluster?: string; allClusters?: boolean },
  range: { since?: number; until?: number },
): Promise<ClusterEvent[]> {
  if (scope.allClusters) {
    return store.listAllEvents({ since: range.since ?? Date.now() - 7 * 86_400_000, until: range.until ?? Date.now() });
  }
  if (!scope.cluster) throw new UsageError('give --cluster NAME or --all-clusters');
  return clusterEvents(store, scope.cluster, range);
}

function storeOptions(command: Command): Command {
  return addAwsOptions(command)
    .option('--config <file>', 'configuration file: its store.tableName, clusters and slo block')
    .option('--table <name>', "DynamoDB table (default: the --stack's, else the configuration's, else failover-events)")
    .option('--stack <name>', "the deployed stateful stack whose table to read (default: the configuration's store.stack)");
}

/** `--cluster` or `--all-clusters`, and the time range: the same on every reading command. */
function scopeAndRange(command: Command): Command {
  return command
    .option('--cluster <name>', 'one cluster, as configured')
    .option('--all-clusters', 'every cluster (through the byDay index)')
    .option('--since <time>', 'ISO-8601 time, or a duration ago such as 2h, 30m or 7d', (v) => parseTime(v))
    .option('--until <time>', 'ISO-8601 time, or a duration ago (default now)', (v) => parseTime(v));
}

function reportPeriod(opts: { month?: Interval; since?: number; until?: number }): Interval {
  if (opts.month) return opts.month;
  if (opts.since === undefined) throw new UsageError('give --month YYYY-MM, or --since (and --until, default now)');
  const period = { start: opts.since, end: opts.until ?? Date.now() };
  if (!(period.end > period.start)) throw new UsageError('--until must be later than --since');
  return period;
}

/** The configuration's `slo` block, with the flags over it. */
function policyOf(
  config: PipelineConfig | null,
  opts: { slo?: number; exclude?: (MaintenanceWindow | 'planned-switchovers')[] },
): SloPolicy {
  const base = config ? sloPolicy(config.slo) : DEFAULT_SLO;
  const exclude = opts.exclude;
  return {
    targetPercent: opts.slo ?? base.targetPercent,
    excludePlanned: exclude ? exclude.includes('planned-switchovers') : base.excludePlanned,
    maintenance: exclude ? exclude.filter((e): e is MaintenanceWindow => e !== 'planned-switchovers') : base.maintenance,
  };
}

/** Reads that take more than a second say how far they are, on stderr, at most once a second. */
function progressOnStderr(): (done: number, total: number) => void {
  const started = Date.now();
  let said = 0;
  return (done, total) => {
    const now = Date.now();
    if (now - started < 1_000 || (now - said < 1_000 && done < total)) return;
    said = now;
    process.stderr.write(`read ${done} of ${total} clusters (${((now - started) / 1000).toFixed(1)} s)\n`);
  };
}

const periodWords = (opts: { month?: Interval }, period: Interval) =>
  opts.month
    ? new Date(period.start).toISOString().slice(0, 7)
    : `${new Date(period.start).toISOString()} - ${new Date(period.end).toISOString()}`;

function output(text: string, file: string | undefined): void {
  if (!file) {
    process.stdout.write(text);
    return;
  }
  writeFileSync(file, text);
  process.stderr.write(`wrote ${file}\n`);
}

function registerHistory(program: Command): void {
  storeOptions(
    scopeAndRange(program.command('history').description('recorded events, oldest first (--all-clusters: the last 7 days by default)'))
      .option('--type <types>', 'only these event types, comma-separated', eventTypes)
      .option(
        '--format <format>',
        'table | json | csv (default: table in a terminal, json otherwise)',
        format(['table', 'json', 'csv'] as const),
      )
      .option('--json', 'same as --format json: one JSON object per line per event'),
  ).action(async (opts, command: Command) => {
    requireScope(opts);
    const opened = await openStore(opts, command);
    if (opts.cluster) await requireKnownCluster(opened, opts.cluster);
    const events = (await readEvents(opened.store, opts, opts)).filter((e) => !opts.type || opts.type.includes(e.type));
    const chosen = opts.json ? 'json' : (opts.format ?? (process.stdout.isTTY ? 'table' : 'json'));
    process.stdout.write(renderEvents(events, chosen));
  });
}

function registerIncidents(program: Command): void {
  storeOptions(
    scopeAndRange(
      program
        .command('incidents')
        .description("a cluster's incidents with their measured write downtime and its bounds, cause and phases (anatomy)"),
    )
      .option('--format <format>', 'table | json | csv | md', format(['table', 'json', 'csv', 'md'] as const), 'table')
      .option('--phases', 'one line per phase of each incident (table, csv, md) instead of one per incident'),
  ).action(async (opts, command: Command) => {
    requireScope(opts);
    const opened = await openStore(opts, command);
    if (opts.cluster) await requireKnownCluster(opened, opts.cluster);
    const since = opts.since ?? 0;
    const events = await readEvents(opened.store, opts, { since: Math.max(0, since - LOOKBACK_MS), until: opts.until });
    const incidents = incidentsFromEvents(events).filter(
      (i) => (i.end ?? Number.POSITIVE_INFINITY) >= since && (opts.until === undefined || i.start <= opts.until),
    );
    const phasesOnly = opts.phases === true && opts.format !== 'json';
    process.stdout.write(phasesOnly ? renderPhases(incidents, opts.format) : renderIncidents(incidents, opts.format));
  });
}

function registerSla(program: Command): void {
  storeOptions(
    scopeAndRange(
      program
        .command('sla')
        .description('availability over the watched part of a month or range against an SLO: coverage, bounds, verdict, every incident'),
    )
      .option('--month <YYYY-MM>', 'a calendar month in UTC (instead of --since/--until)', month)
      .option('--slo <percent>', "availability objective in percent (default: the configuration's slo.target, or 99.95)", sloTarget)
      .option(
        '--exclude <rule>',
        "planned-switchovers, or a maintenance window START/END; repeatable; replaces the configuration's slo.exclude",
        exclusion,
      )
      .option('--format <format>', 'table | md | json | csv | html', format(['table', 'md', 'json', 'csv', 'html'] as const), 'table')
      .option('--out <file>', 'write the report to a file instead of the terminal'),
  ).action(async (opts, command: Command) => {
    requireScope(opts);
    const period = reportPeriod(opts);
    const opened = await openStore(opts, command);
    const policy = policyOf(opened.config, opts);
    const deps = { store: opened.store, clock: Date.now, progress: progressOnStderr() };
    const words = periodWords(opts, period);
    if (opts.allClusters) {
      const clusters = await knownClusters(
        opened.store,
        opened.config?.clusters.map((c) => c.name),
      );
      const { fleet, events } = await fleetSla(deps, clusters, period, policy);
      if (fleet.period.end < period.end) process.stderr.write(`the period ends in the future: reported until now\n`);
      output(renderFleet(fleet, opts.format, `Availability of all clusters, ${words}`, events), opts.out);
      return;
    }
    await requireKnownCluster(opened, opts.cluster);
    const result = await clusterReport(deps, opts.cluster, period, policy);
    if (result.report.coverage.cutAt !== null) process.stderr.write(`the period ends in the future: reported until now\n`);
    const baseline = opts.format === 'html' ? await eventsBefore(opened.store, opts.cluster, period.start) : [];
    const events = [...baseline, ...result.events];
    output(
      renderSla({ cluster: opts.cluster, report: result.report, title: `Availability of ${opts.cluster}, ${words}`, events }, opts.format),
      opts.out,
    );
  });
}

function registerLeaders(program: Command): void {
  storeOptions(
    program
      .command('leaders')
      .description('who held the leader lock when: leadership intervals, from the state the range began in; unwatched time marked')
      .requiredOption('--cluster <name>', 'one cluster, as configured')
      .requiredOption('--since <time>', 'ISO-8601 time, or a duration ago such as 2h, 30m or 7d', (v) => parseTime(v))
      .option('--until <time>', 'ISO-8601 time, or a duration ago (default now)', (v) => parseTime(v))
      .option('--format <format>', 'table | json | csv', format(['table', 'json', 'csv'] as const), 'table'),
  ).action(async (opts, command: Command) => {
    const range = reportPeriod(opts);
    const opened = await openStore(opts, command);
    await requireKnownCluster(opened, opts.cluster);
    const coverage = await clusterCoverage({ store: opened.store, clock: Date.now }, opts.cluster, range);
    const baseline = await eventsBefore(opened.store, opts.cluster, range.start);
    const events = await clusterEvents(opened.store, opts.cluster, { since: range.start, until: coverage.period.end });
    process.stdout.write(renderLeaders(leadershipIntervals([...baseline, ...events], coverage.period, coverage.unwatched), opts.format));
  });
}

export function registerReportCommands(program: Command): void {
  registerHistory(program);
  registerIncidents(program);
  registerSla(program);
  registerLeaders(program);
}
