// The reports' reads over a long, wide history: 1,000 clusters × 13 months of realistic events seeded into the
// emulator, then a one-cluster month, a fleet month and a 13-month one-cluster report, each counted in DynamoDB
// requests and items read, next to a naive baseline in the same run (read everything and filter in memory).
import { BatchWriteItemCommand, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoEventStore, ensureTable } from '../lambdas/adapters/dynamodb/DynamoEventStore.js';
import { eventItemKeys, tableKeys } from '../lambdas/adapters/dynamodb/tableSchema.js';
import { type AnyPayload, type ClusterEvent, eventId, makeEvent } from '../lambdas/domain/events.js';
import { DEFAULT_SLO, monthPeriod } from '../lambdas/domain/sla.js';
import { clusterEvents, clusterReport, fleetSla, knownClusters } from '../lambdas/services/reporter/slaReports.js';
import { awsClientConfig, startLocalAws } from '../local/emulator.js';

export interface ReadRow {
  readonly report: string;
  readonly ms: number;
  readonly requests: number;
  readonly itemsRead: number;
  readonly baselineMs: number;
  readonly baselineRequests: number;
  readonly baselineItemsRead: number;
}

export interface ReportReads {
  readonly clusters: number;
  readonly months: number;
  readonly itemsSeeded: number;
  readonly seedMs: number;
  readonly rows: readonly ReadRow[];
}

const TABLE = 'bench-reports';
const DAY = 86_400_000;
const FAILOVERS_PER_MONTH = 3;

/** Counts the requests a client sends and the items its answers carry (Query and Scan `Items`, BatchGet `Responses`). */
function countingClient(config: DynamoDBClientConfig) {
  const client = new DynamoDBClient(config);
  const counts = { requests: 0, items: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      counts.requests++;
      const result = await next(args);
      const output = result.output as { Items?: unknown[]; Responses?: Record<string, unknown[]> } | undefined;
      counts.items += output?.Items?.length ?? 0;
      for (const items of Object.values(output?.Responses ?? {})) counts.items += items.length;
      return result;
    },
    { step: 'initialize', name: 'countReads' },
  );
  return { client, counts, reset: () => Object.assign(counts, { requests: 0, items: 0 }) };
}

/** One failover as the pipeline records it: the leader lost, the change, the new timeline, the verdict, the return. */
function failoverEvents(cluster: string, at: number, version: number): ClusterEvent[] {
  const envelope = (offsetMs: number, index: number) => ({
    id: eventId(cluster, version, index),
    cluster,
    observedAt: at + offsetMs,
    previousObservedAt: at + offsetMs - 1_000,
    lastHealthyAt: at - 1_000,
  });
  const payloads: [number, AnyPayload][] = [
    [
      0,
      {
        type: 'member_unreachable',
        member: 'pg_node1',
        url: 'http://10.0.0.4:8008',
        status: 'unreachable',
        error: 'refused',
        wasLeader: true,
      },
    ],
    [
      21_000,
      {
        type: 'leader_changed',
        from: 'pg_node1',
        to: 'pg_node2',
        oldTimeline: 3,
        newTimeline: 4,
        kind: 'failover',
        evidence: { cause: 'old_leader_unreachable', detail: '' },
        oldLeaderWalPosition: null,
        switchLsn: null,
        walBytesAtRisk: null,
      },
    ],
    [22_000, { type: 'timeline_changed', from: 3, to: 4, leader: 'pg_node2', missedPromotions: 0 }],
    [
      40_000,
      {
        type: 'write_verified',
        trigger: { id: eventId(cluster, version, 1), type: 'leader_changed' },
        incident: eventId(cluster, version, 0),
        restoredAt: new Date(at + 24_000).toISOString(),
        attempts: 120,
        errors: { refused: 100 },
        servedBy: { address: '10.0.0.5', port: 5432, timeline: 4 },
        outage: {
          startedAfter: at - 1_000,
          startedBefore: at,
          endedAfter: at + 23_850,
          endedBefore: at + 24_000,
          downtimeMinMs: 23_850,
          downtimeMaxMs: 25_000,
        },
      },
    ],
    [300_000, { type: 'member_reachable', member: 'pg_node1', url: 'http://10.0.0.4:8008' }],
  ];
  return payloads.map(([offset, payload], index) => makeEvent(envelope(offset, index), payload));
}

/** As the store writes it, without the TTL (moto does not expire items; the seed must stay whole). */
function eventItem(event: ClusterEvent): Record<string, unknown> {
  return { ...event, ...eventItemKeys(event) };
}

/** Every item of one cluster's 13 months: registry, state, watch_started, three failovers a month, a gap a month. */
function clusterItems(cluster: string, index: number, first: number, last: number): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [
    { pk: tableKeys.registry, sk: cluster, firstWatchedAt: first, itemType: 'registry' },
    { pk: tableKeys.cluster(cluster), sk: tableKeys.state, itemType: 'state', version: 1, state: { cluster, observedAt: last } },
    eventItem(
      makeEvent(
        { id: eventId(cluster, 1, 0), cluster, observedAt: first, previousObservedAt: null },
        { type: 'watch_started', leader: 'pg_node1', timeline: 3, members: ['pg_node1', 'pg_node2', 'pg_node3'] },
      ),
    ),
  ];
  let version = 2;
  for (let month = first; month < last; month += 30 * DAY) {
    for (let f = 0; f < FAILOVERS_PER_MONTH; f++) {
      const at = month + ((index * 7_919 + f * 9 * DAY) % (27 * DAY)) + f * 3_600_000;
      items.push(...failoverEvents(cluster, at, version++).map(eventItem));
    }
    const gapEnd = month + 15 * DAY + (index % 600) * 1_000 + 600_000;
    const gap = makeEvent(
      { id: eventId(cluster, version++, 0), cluster, observedAt: gapEnd, previousObservedAt: gapEnd - 600_000 },
      { type: 'watch_gap', unwatchedFrom: gapEnd - 600_000, unwatchedUntil: gapEnd },
    );
    items.push(eventItem(gap), {
      pk: tableKeys.cluster(cluster),
      sk: tableKeys.gap(gapEnd, gap.id),
      itemType: 'gap',
      unwatchedFrom: gapEnd - 600_000,
      unwatchedUntil: gapEnd,
    });
  }
  return items;
}

async function seed(client: DynamoDBClient, clusters: number, first: number, last: number): Promise<number> {
  let written = 0;
  const pending: Record<string, unknown>[] = [];
  const flush = async (all: boolean) => {
    const batches: Promise<void>[] = [];
    while (pending.length >= 25 || (all && pending.length > 0)) {
      const batch = pending.splice(0, 25);
      batches.push(
        (async () => {
          let requests = batch.map((item) => ({ PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) } }));
          for (let attempt = 0; requests.length > 0 && attempt < 10; attempt++) {
            const result = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: requests } }));
            requests = (result.UnprocessedItems?.[TABLE] ?? []) as typeof requests;
          }
        })(),
      );
      if (batches.length >= 8) await Promise.all(batches.splice(0));
    }
    await Promise.all(batches);
  };
  for (let i = 0; i < clusters; i++) {
    const items = clusterItems(`cluster-${String(i).padStart(4, '0')}`, i, first, last);
    pending.push(...items);
    written += items.length;
    await flush(false);
    if (i % 100 === 99) process.stderr.write(`seeded ${i + 1} of ${clusters} clusters (${written} items)\n`);
  }
  await flush(true);
  return written;
}

async function measure(counter: ReturnType<typeof countingClient>, work: () => Promise<unknown>) {
  counter.reset();
  const started = performance.now();
  await work();
  return { ms: performance.now() - started, requests: counter.counts.requests, items: counter.counts.items };
}

export async function reportReads(clusters = 1_000, months = 13): Promise<ReportReads> {
  const aws = await startLocalAws();
  try {
    // moto answers a Scan or an index Query by walking every item of the table: give it time, count its work.
    const config = {
      ...awsClientConfig(aws),
      maxAttempts: 5,
      requestHandler: { connectionTimeout: 2_000, requestTimeout: 300_000, throwOnRequestTimeout: true },
    };
    const counter = countingClient(config);
    await ensureTable(counter.client, TABLE);
    const now = Date.UTC(2026, 11, 1, 6);
    const last = Date.UTC(2026, 11, 1) - 30_000;
    const first = Date.UTC(2026, 11 - months, 1);
    const seedStarted = performance.now();
    const itemsSeeded = await seed(counter.client, clusters, first, last);
    const seedMs = performance.now() - seedStarted;
    const store = new DynamoEventStore({ tableName: TABLE, client: counter.client });
    const deps = {
      store,
      clock: () => now,
      progress: (done: number, total: number) => done % 200 === 0 && process.stderr.write(`  read ${done}/${total}\n`),
    };
    const november = monthPeriod('2026-11');
    const year = { start: first, end: Date.UTC(2026, 11, 1) };
    const one = `cluster-${String(Math.floor(clusters / 2)).padStart(4, '0')}`;
    const rows: ReadRow[] = [];
    const row = async (report: string, ours: () => Promise<unknown>, baseline: () => Promise<unknown>) => {
      process.stderr.write(`report reads: ${report}\n`);
      const o = await measure(counter, ours);
      process.stderr.write(`  ours: ${(o.ms / 1000).toFixed(1)} s, ${o.requests} requests, ${o.items} items\n`);
      const b = await measure(counter, baseline);
      process.stderr.write(`  baseline: ${(b.ms / 1000).toFixed(1)} s, ${b.requests} requests, ${b.items} items\n`);
      rows.push({
        report,
        ms: o.ms,
        requests: o.requests,
        itemsRead: o.items,
        baselineMs: b.ms,
        baselineRequests: b.requests,
        baselineItemsRead: b.items,
      });
    };
    const wholeHistory = (cluster: string) => clusterEvents(store, cluster, {});
    await row(
      'one cluster, one month',
      () => clusterReport(deps, one, november, DEFAULT_SLO),
      () => wholeHistory(one),
    );
    await row(
      'one cluster, 13 months',
      () => clusterReport(deps, one, year, DEFAULT_SLO),
      () => wholeHistory(one),
    );
    // Baseline: no day index, every cluster's month read from its own partition.
    await row(
      `fleet (${clusters} clusters), one month`,
      async () => fleetSla(deps, await knownClusters(store), november, DEFAULT_SLO),
      async () => {
        for (const cluster of await knownClusters(store))
          await clusterEvents(store, cluster, { since: november.start - DAY, until: november.end });
      },
    );
    return { clusters, months, itemsSeeded, seedMs, rows };
  } finally {
    await aws.stop();
  }
}

export function reportReadsMarkdown(result: ReportReads | null): string {
  if (!result) return '';
  const lines = result.rows
    .map(
      (r) =>
        `| ${r.report} | ${(r.ms / 1000).toFixed(2)} | ${r.requests} | ${r.itemsRead} | ${(r.baselineMs / 1000).toFixed(2)} | ${r.baselineRequests} | ${r.baselineItemsRead} | **${(r.baselineMs / r.ms).toFixed(1)}×** |`,
    )
    .join('\n');
  return `
## Report reads over a long history (moto)

${result.clusters} clusters × ${result.months} months seeded into the emulator (${result.itemsSeeded} items in ${(result.seedMs / 1000).toFixed(0)} s): a
\`watch_started\`, ${FAILOVERS_PER_MONTH} failovers a month each (5 events apiece: the leader lost, the change, the new timeline, the
probe's verdict, the old leader back) and a 10-minute poller gap a month, with the registry, state and gap items the
poller writes. Heartbeats write no item of their own (they rewrite the state). Ours: the report as \`failover sla\` reads
it (events of the period and a day before it, the watch record). Baselines in the same run: for one cluster, reading
its whole history and filtering in memory; for the fleet, no day index: every cluster's month from its own partition.
Requests and items read are what DynamoDB bills and are the same on AWS; the times are moto's, which answers an index
Query by walking every item of the table, so they overstate what DynamoDB takes for the fleet by far.

| report | ours (s) | requests | items read | baseline (s) | requests | items read | baseline / ours |
|---|---|---|---|---|---|---|---|
${lines}

A fleet month reads every cluster's month through the day index (one Query a day, paged), the registry entries and
states of fifty clusters a BatchGetItem, and one Query per cluster for its gaps from the month's start on (sixteen at
a time): per cluster, one request where the baseline needs one for its events alone. The CLI shows its progress on
stderr after the first second.
`;
}
