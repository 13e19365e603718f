// Issue 16, item 3: the notifier on the AWS path. N clusters fail over in the same second; their pollers commit
// the events (one poll interval spreads them), the table's stream carries them in one shard, and the event source
// mapping hands the notifier one batch at a time (parallelization factor 1, STREAM_DELIVERY's batch size, no
// window), as FailoverPipeline deploys it. The notifier is the product's own (`notifierOverPorts`: the same batches, lanes,
// state cache, idempotency and storm grouping); only DynamoDB, SNS and PagerDuty are simulated, in memory, each
// call taking its service's usual in-region latency. What it shows: when the last cluster is paged, and every AWS
// call of a failover by event, counted where the product makes it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { STREAM_DELIVERY } from '../lambdas/adapters/dynamodb/streamDelivery.js';
import { eventItemKeys } from '../lambdas/adapters/dynamodb/tableSchema.js';
import { validateConfig } from '../lambdas/config/config.js';
import type { Alert } from '../lambdas/domain/alerts.js';
import { detect } from '../lambdas/domain/detector.js';
import { StateConflictError } from '../lambdas/domain/errors.js';
import type { ClusterEvent } from '../lambdas/domain/events.js';
import { EMPTY_NOTIFIER_STATE, type NotifierState } from '../lambdas/domain/notifierState.js';
import type { AlertChannels, FleetStore, Idempotent, NotifierStore } from '../lambdas/domain/ports.js';
import { EMPTY_FLEET_STATE, type FleetState } from '../lambdas/domain/storm.js';
import { notifierOverPorts } from '../lambdas/wiring/notifier.js';
import { failoverObservation, steadyObservation } from './observations.js';

/**
 * Milliseconds per call, in-region: DynamoDB's single-digit reads and writes (a conditional write a little more),
 * an SNS publish, a PagerDuty Events API request from AWS, and the event source mapping's invoke of a warm function.
 * Each call takes between half and one and a half times its figure.
 */
export const SIMULATED_LATENCY_MS = {
  'DynamoDB GetItem': 6,
  'DynamoDB PutItem': 9,
  'DynamoDB UpdateItem': 9,
  'SNS Publish': 25,
  'PagerDuty Events': 150,
  'Lambda invoke': 25,
} as const;
type Call = keyof typeof SIMULATED_LATENCY_MS;

/** A record reaches the stream this long after its poll: the commit (TransactWriteItems) and the stream's own lag. */
const COMMIT_AND_STREAM_MS = 15 + 300;
/** The event source mapping asks an idle shard for records this often. */
const IDLE_POLL_MS = 250;
const POLL_INTERVAL_MS = 1_000;

export interface AwsPathRow {
  readonly clusters: number;
  readonly delivery: Delivery;
  /** From the failover until every cluster's leader_changed alert had left, and the fleet page. */
  readonly lastPagedMs: number;
  readonly p50PagedMs: number;
  readonly fleetPageMs: number | null;
  readonly batches: number;
  /** Clusters whose leader_changed alert left (every one, unless something was lost). */
  readonly paged: number;
  /** Calls per failing cluster, by the event being handled and the call. */
  readonly callsByEvent: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** The calls made, attributed to the event being handled when they were made. */
class CallCounter {
  readonly byEvent = new Map<string, Map<string, number>>();
  private readonly current = new AsyncLocalStorage<string>();

  within<T>(eventType: string, work: () => Promise<T>): Promise<T> {
    return this.current.run(eventType, work);
  }

  async call(name: Call): Promise<void> {
    const event = this.current.getStore() ?? '(batch)';
    const calls = this.byEvent.get(event) ?? new Map<string, number>();
    calls.set(name, (calls.get(name) ?? 0) + 1);
    this.byEvent.set(event, calls);
    await sleep(SIMULATED_LATENCY_MS[name] * (0.5 + Math.random()));
  }
}

/** The table as the notifier uses it: per-cluster and fleet state saved only at the revision they were loaded at. */
function simulatedTable(calls: CallCounter): NotifierStore & FleetStore {
  const states = new Map<string, NotifierState>();
  let fleet: FleetState = { ...EMPTY_FLEET_STATE, revision: 0 };
  const checked = <T extends { revision?: number | undefined }>(stored: T, next: T, owner: string): T => {
    if ((next.revision ?? 0) !== (stored.revision ?? 0)) throw new StateConflictError(owner, next.revision ?? 0, 'another notifier');
    return { ...next, revision: (next.revision ?? 0) + 1 };
  };
  return {
    recordEvent: async () => {
      await calls.call('DynamoDB PutItem');
      return true;
    },
    loadNotifierState: async (cluster) => {
      await calls.call('DynamoDB GetItem');
      return states.get(cluster) ?? { ...EMPTY_NOTIFIER_STATE, revision: 0 };
    },
    saveNotifierState: async (cluster, state) => {
      await calls.call('DynamoDB PutItem');
      const saved = checked(states.get(cluster) ?? { ...EMPTY_NOTIFIER_STATE, revision: 0 }, state, cluster);
      states.set(cluster, saved);
      return saved;
    },
    loadFleetState: async () => {
      await calls.call('DynamoDB GetItem');
      return fleet;
    },
    saveFleetState: async (state) => {
      await calls.call('DynamoDB PutItem');
      fleet = checked(fleet, state, 'the fleet');
      return fleet;
    },
  };
}

/** Powertools' idempotency over DynamoDB: a conditional put of the in-progress record, then its completion. */
function simulatedIdempotency(calls: CallCounter): Idempotent {
  const done = new Map<string, unknown>();
  return async (key, fn) => {
    await calls.call('DynamoDB PutItem');
    if (done.has(key)) return done.get(key) as never;
    const value = await fn();
    await calls.call('DynamoDB UpdateItem');
    done.set(key, value);
    return value;
  };
}

function simulatedChannels(calls: CallCounter, onFleetPage: () => void): AlertChannels {
  let published = 0;
  return {
    sns: {
      publish: async () => {
        await calls.call('SNS Publish');
        return `message-${++published}`;
      },
      publishStorm: async () => {
        await calls.call('SNS Publish');
        onFleetPage();
        return `message-${++published}`;
      },
    },
    pagerduty: {
      send: async () => {
        await calls.call('PagerDuty Events');
        return { attempts: 1 };
      },
    },
  };
}

/** Each cluster's failover as its poller records it: the detector's events from a healthy poll to the failed one. */
function failoverEvents(clusters: readonly string[], failedAt: number): { event: ClusterEvent; availableAt: number }[] {
  return clusters.flatMap((cluster) => {
    const polledAt = failedAt + Math.random() * POLL_INTERVAL_MS;
    const baseline = detect(null, { ...steadyObservation(failedAt - POLL_INTERVAL_MS), cluster });
    const { events } = detect(baseline.state, { ...failoverObservation(polledAt), cluster });
    return events.map((event) => ({ event, availableAt: polledAt + COMMIT_AND_STREAM_MS }));
  });
}

function streamRecord(event: ClusterEvent, sequence: number): DynamoDBRecord {
  const item = { ...event, ...eventItemKeys(event) };
  return {
    eventID: String(sequence),
    eventName: 'INSERT',
    // The SDK's own marshalling types differ from aws-lambda's only in name.
    dynamodb: { NewImage: marshall(item, { removeUndefinedValues: true }) as never, SequenceNumber: String(sequence) },
  };
}

/** How the event source mapping and the notifier are set: records a batch, and clusters handled at once in one. */
export interface Delivery {
  readonly batchSize: number;
  readonly lanes: number;
}

export async function awsPathBench(size: number, delivery: Delivery): Promise<AwsPathRow> {
  const clusters = Array.from({ length: size }, (_, c) => `storm-${c}`);
  const config = validateConfig({
    clusters: clusters.map((name, c) => ({
      name,
      members: ['http://10.0.0.1:8008'],
      tags: { az: c % 10 === 9 ? 'eu-west-1b' : 'eu-west-1a' },
    })),
    notify: { pagerduty: { routingKeyEnv: 'BENCH_PAGERDUTY_KEY' } },
  });
  const calls = new CallCounter();
  const failedAt = Date.now();
  let fleetPagedAt: number | null = null;
  const pagedAt = new Map<string, number>();
  const onAlert = (alert: Alert) => {
    if (alert.type === 'leader_changed') pagedAt.set(alert.cluster, Date.now());
  };
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const pipeline = notifierOverPorts(
    config,
    {
      store: simulatedTable(calls),
      channels: simulatedChannels(calls, () => {
        fleetPagedAt ??= Date.now();
      }),
      idempotent: simulatedIdempotency(calls),
      probes: null,
      log: quiet,
      onAlert,
    },
    delivery.lanes,
  );
  const handle = pipeline.notifier.handle.bind(pipeline.notifier);
  pipeline.notifier.handle = (event, batch) => calls.within(event.type, () => handle(event, batch));
  const shard = failoverEvents(clusters, failedAt)
    .sort((a, b) => a.availableAt - b.availableAt)
    .map((r, sequence) => ({ record: streamRecord(r.event, sequence), availableAt: r.availableAt }));
  let batches = 0;
  // The event source mapping: one batch in flight per shard; a failed record and the rest of the batch come again.
  while (shard.length > 0) {
    const ready = shard.findIndex((r) => r.availableAt > Date.now());
    const count = Math.min(delivery.batchSize, ready === -1 ? shard.length : ready);
    if (count === 0) {
      await sleep(IDLE_POLL_MS);
      continue;
    }
    const batch = shard.slice(0, count).map((r) => r.record);
    await calls.call('Lambda invoke');
    const { batchItemFailures } = await pipeline.handleBatch(batch);
    batches++;
    const firstFailed = batchItemFailures[0]?.itemIdentifier;
    const handled = firstFailed === undefined ? count : batch.findIndex((r) => r.dynamodb?.SequenceNumber === firstFailed);
    shard.splice(0, handled);
  }
  const paged = [...pagedAt.values()].map((t) => t - failedAt).sort((a, b) => a - b);
  return {
    clusters: size,
    delivery,
    lastPagedMs: paged.at(-1) ?? Number.NaN,
    p50PagedMs: paged[Math.floor(paged.length / 2)] ?? Number.NaN,
    fleetPageMs: fleetPagedAt === null ? null : fleetPagedAt - failedAt,
    batches,
    paged: paged.length,
    callsByEvent: perFailover(calls.byEvent, size),
  };
}

function perFailover(byEvent: ReadonlyMap<string, ReadonlyMap<string, number>>, size: number): Record<string, Record<string, number>> {
  return Object.fromEntries(
    [...byEvent].map(([event, calls]) => [event, Object.fromEntries([...calls].map(([call, n]) => [call, n / size]))]),
  );
}

/** What the bench runs: ours, the delivery deployed before it, and one record after another (the smallest storm only: minutes). */
export async function awsPathRuns(): Promise<AwsPathRow[]> {
  const rows: AwsPathRow[] = [];
  const previous = { batchSize: 100, lanes: 8 };
  for (const clusters of [100, 300, 1000]) {
    process.stderr.write(`notifier on the simulated AWS path: ${clusters} clusters\n`);
    rows.push(await awsPathBench(clusters, STREAM_DELIVERY), await awsPathBench(clusters, previous));
  }
  rows.push(await awsPathBench(100, { batchSize: 100, lanes: 1 }));
  return rows;
}

/** The AWS-path section of docs/benchmarks.md. */
export function awsPathMarkdown(rows: readonly AwsPathRow[]): string {
  const s = (ms: number | null) => (ms === null ? '–' : (ms / 1000).toFixed(1));
  const ours = (r: AwsPathRow) => r.delivery.batchSize === STREAM_DELIVERY.batchSize && r.delivery.lanes === STREAM_DELIVERY.lanes;
  const table = rows
    .map((r) => {
      const same = rows.find((b) => b.clusters === r.clusters && ours(b));
      const ratio = same && !ours(r) ? ` (${(r.lastPagedMs / same.lastPagedMs).toFixed(1)}× ours)` : '';
      return `| ${r.clusters} | ${r.delivery.batchSize} × ${r.delivery.lanes}${ours(r) ? ' (ours)' : ''} | ${r.paged} of ${r.clusters} | ${s(r.fleetPageMs)} | ${s(r.p50PagedMs)} | ${s(r.lastPagedMs)}${ratio} | ${r.batches} |`;
    })
    .join('\n');
  const largest = rows.filter(ours).at(-1);
  const byEvent = largest ? callTable(largest) : '';
  const latency = Object.entries(SIMULATED_LATENCY_MS)
    .map(([call, ms]) => `${call} ${ms} ms`)
    .join(', ');
  return `## The notifier on the AWS path (simulated stream and services)

N clusters fail over in the same second. Their pollers commit within one poll interval (1 s), each record reaches
the table's one stream shard ${COMMIT_AND_STREAM_MS} ms after its poll, and the event source mapping hands the notifier one
batch at a time (parallelization factor 1: Lambda keeps a DynamoDB stream's order only per item, and every event is
its own item), invoking it again as soon as a batch returns. The notifier is the product's own (\`notifierOverPorts\`:
batches, lanes, state cache, idempotency, storm grouping, SNS and PagerDuty); DynamoDB, SNS and PagerDuty are
simulated in memory, each call taking half to one and a half times ${latency}. Paged: the cluster's
\`leader_changed\` alert has left on every channel; the fleet page is the storm's first SNS publish. Slack is left
out, as in the local storm. Delivery is records per batch × clusters at once within it.

| clusters | delivery | paged | fleet page (s) | p50 paged (s) | last paged (s) | batches |
|---|---|---|---|---|---|---|
${table}

Target: the last of 1,000 clusters paged within 60 s. A batch of 100 holds about 20 clusters' records (5 a failover),
so more lanes alone cannot help it; 500 records and ${STREAM_DELIVERY.lanes} lanes keep about 100 clusters in flight. Every opening in a
storm changes the fleet record; those that arrive while it is being saved are saved together, in one conditional
write. Not simulated: PagerDuty's own limit per integration key (120 events a minute, in PagerDuty's
community answer). A storm's members each send their own trigger, grouped under the storm, so a storm of hundreds of
clusters would meet it; the adapter then waits for Retry-After, which holds those members' later records, not the
fleet page, which leaves at the storm's fifth opening.

Calls per failover (AWS and PagerDuty) by the event being handled, ${largest?.clusters ?? '–'} clusters with our delivery (counted where the
product makes them; the other events of a failover, such as \`member_role_changed\`, \`timeline_changed\` and
\`redundancy_restored\`, are audit-only and make none):

| event | ${CALL_NAMES.join(' | ')} | all |
|---|${CALL_NAMES.map(() => '---|').join('')}---|
${byEvent}
`;
}

const CALL_NAMES = Object.keys(SIMULATED_LATENCY_MS) as Call[];

function callTable(row: AwsPathRow): string {
  const lines = Object.entries(row.callsByEvent).map(([event, calls]) => {
    const all = Object.values(calls).reduce((a, b) => a + b, 0);
    return `| ${event} | ${CALL_NAMES.map((c) => (calls[c] ?? 0).toFixed(2)).join(' | ')} | ${all.toFixed(2)} |`;
  });
  const total = (c: Call) => Object.values(row.callsByEvent).reduce((sum, calls) => sum + (calls[c] ?? 0), 0);
  const all = CALL_NAMES.reduce((sum, c) => sum + total(c), 0);
  return [...lines, `| **per failover** | ${CALL_NAMES.map((c) => total(c).toFixed(2)).join(' | ')} | **${all.toFixed(2)}** |`].join('\n');
}
