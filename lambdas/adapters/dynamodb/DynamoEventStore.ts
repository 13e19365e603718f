import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  TransactionCanceledException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ClusterState } from '../../domain/clusterState.js';
import { messageOf, StateConflictError, StoreError } from '../../domain/errors.js';
import { type ClusterEvent, DEFAULT_RETENTION_DAYS } from '../../domain/events.js';
import { EMPTY_NOTIFIER_STATE, type NotifierState } from '../../domain/notifierState.js';
import type {
  EventPage,
  EventQuery,
  EventStore,
  FleetStore,
  NotifierStore,
  ReportStore,
  WatchedCluster,
  WatchRecord,
} from '../../domain/ports.js';
import type { Interval } from '../../domain/sla.js';
import { EMPTY_FLEET_STATE, type FleetState } from '../../domain/storm.js';
import { AWS_CALL_TIMEOUTS } from '../awsClients.js';
import { eventItemKeys, TABLE_SCHEMA, tableKeys } from './tableSchema.js';

/** DynamoDB allows 100 items per transaction: the state, the registry entry and a watch gap's index item leave 97. */
export const MAX_EVENTS_PER_COMMIT = 97;
/** Watch gaps read per page: they are rare, and the first one past the period ends the reading. */
const GAP_PAGE = 25;
/** Clusters per BatchGetItem of watch records: two keys each, of the 100 a call takes. */
const BATCH_GET_CLUSTERS = 50;
/** Gap queries in flight at once. */
const PARALLEL_GAP_READS = 16;
/** Items per BatchWriteItem call. */
const BATCH_WRITE_MAX = 25;
const BATCH_WRITE_ATTEMPTS = 5;

export interface DynamoEventStoreOptions {
  readonly tableName: string;
  readonly retentionDays?: number;
  readonly client?: DynamoDBClient;
  /**
   * Local mode only: called when the table is missing (the emulator restarted and lost it), to create it again;
   * the call is then retried once. On AWS the table is the stack's and a missing one is an error. @default none
   */
  readonly onMissingTable?: () => Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The audit trail in one DynamoDB table (its items: `tableSchema.ts`). */
export class DynamoEventStore implements EventStore, NotifierStore, FleetStore, ReportStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number;
  private readonly onMissingTable: (() => Promise<void>) | undefined;
  private recreating: Promise<void> | null = null;
  /** Clusters whose registry entry this process has written: once per process, so that heartbeats stay one item. */
  private readonly registered = new Set<string>();

  constructor(options: DynamoEventStoreOptions) {
    this.tableName = options.tableName;
    this.onMissingTable = options.onMissingTable;
    this.retentionSeconds = (options.retentionDays ?? DEFAULT_RETENTION_DAYS) * 86_400;
    this.documents = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({ ...AWS_CALL_TIMEOUTS }), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  async loadState(cluster: string): Promise<ClusterState | null> {
    const result = await this.withTable(() =>
      this.documents.send(
        new GetCommand({ TableName: this.tableName, Key: { pk: tableKeys.cluster(cluster), sk: tableKeys.state }, ConsistentRead: true }),
      ),
    );
    return (result.Item?.state as ClusterState | undefined) ?? null;
  }

  /**
   * The state and up to 99 events in one transaction, conditioned on the state's version. Events past what one
   * transaction holds follow once the state is ours, in batches whose puts are idempotent (a retried batch
   * rewrites the same items): their deterministic keys keep the trail's order whatever order they land in.
   */
  async commit(previousVersion: number, state: ClusterState, events: readonly ClusterEvent[]): Promise<void> {
    await this.commitState(previousVersion, state, events.slice(0, MAX_EVENTS_PER_COMMIT));
    const rest = events.slice(MAX_EVENTS_PER_COMMIT);
    for (let i = 0; i < rest.length; i += BATCH_WRITE_MAX) await this.putBatch(state.cluster, rest.slice(i, i + BATCH_WRITE_MAX));
  }

  private async commitState(previousVersion: number, state: ClusterState, events: readonly ClusterEvent[]): Promise<void> {
    const stateItem = {
      Put: {
        TableName: this.tableName,
        Item: {
          pk: tableKeys.cluster(state.cluster),
          sk: tableKeys.state,
          itemType: 'state',
          version: state.version,
          updatedAt: iso(state.observedAt),
          state,
        },
        ...(previousVersion === 0
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : // A state that is gone (a local emulator restarted, the table created again) is continued from ours.
            {
              ConditionExpression: 'attribute_not_exists(pk) OR version = :previous',
              ExpressionAttributeValues: { ':previous': previousVersion },
            }),
      },
    };
    const eventItems = events.map((event) => ({
      Put: { TableName: this.tableName, Item: this.eventItem(event), ConditionExpression: 'attribute_not_exists(pk)' },
    }));
    const register = this.registered.has(state.cluster) ? [] : [this.registryUpdate(state)];
    const items = [stateItem, ...register, ...eventItems, ...events.flatMap((event) => this.gapItem(event))];
    try {
      await this.withTable(() => this.documents.send(new TransactWriteCommand({ TransactItems: items })));
      this.registered.add(state.cluster);
    } catch (error) {
      if (error instanceof TransactionCanceledException && error.CancellationReasons?.some((r) => r.Code === 'ConditionalCheckFailed')) {
        throw new StateConflictError(state.cluster, previousVersion);
      }
      throw new StoreError(`writing ${events.length} events of cluster ${state.cluster} failed: ${messageOf(error)}`, { cause: error });
    }
  }
  /**
   * The cluster's registry entry keeps the first poll ever recorded. A cluster watched before the registry existed
   * gets the time of its first commit after it: later than the truth, so coverage claims less, never more.
   */
  private registryUpdate(state: ClusterState) {
    return {
      Update: {
        TableName: this.tableName,
        Key: { pk: tableKeys.registry, sk: state.cluster },
        UpdateExpression: 'SET firstWatchedAt = if_not_exists(firstWatchedAt, :at), itemType = :type',
        ExpressionAttributeValues: { ':at': state.observedFrom ?? state.observedAt, ':type': 'registry' },
      },
    };
  }

  /** A `watch_gap` is also indexed by its end; the put is idempotent (the same key and content every time). */
  private gapItem(event: ClusterEvent) {
    if (event.type !== 'watch_gap') return [];
    const item = {
      pk: tableKeys.cluster(event.cluster),
      sk: tableKeys.gap(event.unwatchedUntil, event.id),
      itemType: 'gap',
      unwatchedFrom: event.unwatchedFrom,
      unwatchedUntil: event.unwatchedUntil,
      expiresAt: Math.floor(event.observedAt / 1000) + this.retentionSeconds,
    };
    return [{ Put: { TableName: this.tableName, Item: item } }];
  }

  async listWatchedClusters(): Promise<WatchedCluster[]> {
    const clusters: WatchedCluster[] = [];
    const query = { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': tableKeys.registry } };
    for await (const item of this.queryItems(query))
      clusters.push({ cluster: String(item.sk), firstWatchedAt: Number(item.firstWatchedAt) });
    return clusters;
  }

  async watchRecord(cluster: string, range: Interval): Promise<WatchRecord> {
    const records = await this.watchRecords([cluster], range);
    return records.get(cluster)!;
  }

  /**
   * The registry entries and states of up to 50 clusters a call (BatchGetItem takes 100 keys), then each cluster's
   * gaps from the range's start until one lies past it, sixteen clusters at a time.
   */
  async watchRecords(clusters: readonly string[], range: Interval): Promise<Map<string, WatchRecord>> {
    const heads = new Map<string, { firstWatchedAt: number | null; lastPolledAt: number | null }>();
    for (let i = 0; i < clusters.length; i += BATCH_GET_CLUSTERS) {
      for (const [cluster, head] of await this.registryAndStates(clusters.slice(i, i + BATCH_GET_CLUSTERS))) heads.set(cluster, head);
    }
    const records = new Map<string, WatchRecord>();
    for (let i = 0; i < clusters.length; i += PARALLEL_GAP_READS) {
      const batch = clusters.slice(i, i + PARALLEL_GAP_READS);
      const gaps = await Promise.all(batch.map((cluster) => this.gapsOverlapping(cluster, range)));
      for (const [k, cluster] of batch.entries()) records.set(cluster, { ...heads.get(cluster)!, gaps: gaps[k]! });
    }
    return records;
  }

  private async registryAndStates(clusters: readonly string[]) {
    let keys: Record<string, unknown>[] = clusters.flatMap((cluster) => [
      { pk: tableKeys.registry, sk: cluster },
      { pk: tableKeys.cluster(cluster), sk: tableKeys.state },
    ]);
    const items: Record<string, unknown>[] = [];
    for (let attempt = 1; keys.length > 0; attempt++) {
      if (attempt > BATCH_WRITE_ATTEMPTS)
        throw new StoreError(`reading the watch records was throttled ${attempt - 1} times: run the report again in a minute`);
      const got = await this.withTable(() =>
        this.documents.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: keys,
                ProjectionExpression: 'pk, sk, firstWatchedAt, #s.observedAt',
                ExpressionAttributeNames: { '#s': 'state' },
              },
            },
          }),
        ),
      );
      items.push(...(got.Responses?.[this.tableName] ?? []));
      keys = got.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      if (keys.length > 0) await sleep(100 * 2 ** attempt);
    }
    return clusters.map((cluster) => {
      const registry = items.find((i) => i.pk === tableKeys.registry && i.sk === cluster);
      const state = items.find((i) => i.pk === tableKeys.cluster(cluster)) as { state?: { observedAt?: number } } | undefined;
      const head = { firstWatchedAt: registry ? Number(registry.firstWatchedAt) : null, lastPolledAt: state?.state?.observedAt ?? null };
      return [cluster, head] as const;
    });
  }

  private async gapsOverlapping(cluster: string, range: Interval): Promise<Interval[]> {
    const gaps: Interval[] = [];
    const keys = tableKeys.gapsFrom(range.start);
    const query = {
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': tableKeys.cluster(cluster), ':from': keys.from, ':to': keys.to },
      Limit: GAP_PAGE,
    };
    for await (const item of this.queryItems(query)) {
      const gap = { start: Number(item.unwatchedFrom), end: Number(item.unwatchedUntil) };
      // Gaps never overlap and are keyed by their end: the first one starting past the range ends the reading.
      if (gap.start >= range.end) break;
      gaps.push(gap);
    }
    return gaps;
  }

  /** Puts event items with BatchWriteItem, retrying what DynamoDB leaves unprocessed (throttling) a few times. */
  private async putBatch(cluster: string, events: readonly ClusterEvent[]): Promise<void> {
    let pending = events.map((event) => ({ PutRequest: { Item: this.eventItem(event) } }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > BATCH_WRITE_ATTEMPTS) {
        throw new StoreError(`${pending.length} events of cluster ${cluster} stayed unprocessed after ${BATCH_WRITE_ATTEMPTS} attempts`);
      }
      try {
        const result = await this.withTable(() =>
          this.documents.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } })),
        );
        pending = (result.UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
      } catch (error) {
        throw new StoreError(`writing ${events.length} more events of cluster ${cluster} failed: ${messageOf(error)}`, { cause: error });
      }
      if (pending.length > 0) await sleep(100 * 2 ** attempt);
    }
  }

  /**
   * Records an event written outside a state commit (probe verdicts, canary failures) once per id: a guard item
   * keyed by the id alone is written in the same transaction, because the event's own key holds its time, and
   * two probes of one trigger (two notifiers, a redelivery) finish at different times.
   */
  async recordEvent(event: ClusterEvent): Promise<boolean> {
    const item = this.eventItem(event);
    const guard = { pk: item.pk, sk: tableKeys.eventIdGuard(event.id), itemType: 'event_id', expiresAt: item.expiresAt };
    try {
      await this.withTable(() =>
        this.documents.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: this.tableName, Item: guard, ConditionExpression: 'attribute_not_exists(pk)' } },
              { Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
            ],
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException && error.CancellationReasons?.some((r) => r.Code === 'ConditionalCheckFailed'))
        return false;
      throw new StoreError(`writing event ${event.id} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  async loadNotifierState(cluster: string): Promise<NotifierState> {
    const { item, revision } = await this.loadRevised({ pk: tableKeys.cluster(cluster), sk: tableKeys.notifier });
    return { ...((item?.notifier as NotifierState | undefined) ?? EMPTY_NOTIFIER_STATE), revision };
  }

  /** Conditioned on the revision the state was loaded at: a notifier that raced another gets StateConflictError. */
  async saveNotifierState(cluster: string, state: NotifierState): Promise<NotifierState> {
    const { revision = 0, ...notifier } = state;
    const key = { pk: tableKeys.cluster(cluster), sk: tableKeys.notifier };
    await this.saveRevised({ ...key, itemType: 'notifier', notifier }, revision, cluster);
    return { ...notifier, revision: revision + 1 };
  }

  async loadFleetState(): Promise<FleetState> {
    const { item, revision } = await this.loadRevised({ pk: tableKeys.fleet, sk: tableKeys.notifier });
    return { ...((item?.fleet as FleetState | undefined) ?? EMPTY_FLEET_STATE), revision };
  }

  async saveFleetState(state: FleetState): Promise<FleetState> {
    const { revision = 0, ...fleet } = state;
    await this.saveRevised({ pk: tableKeys.fleet, sk: tableKeys.notifier, itemType: 'fleet', fleet }, revision, 'the fleet');
    return { ...fleet, revision: revision + 1 };
  }

  private async loadRevised(key: { pk: string; sk: string }): Promise<{ item: Record<string, unknown> | undefined; revision: number }> {
    const result = await this.withTable(() =>
      this.documents.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    return { item: result.Item, revision: (result.Item?.revision as number | undefined) ?? 0 };
  }

  /** Writes the item at `revision + 1` if it is still at `revision`; StateConflictError naming `what` otherwise. */
  private async saveRevised(item: Record<string, unknown>, revision: number, what: string): Promise<void> {
    try {
      await this.withTable(() =>
        this.documents.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...item, revision: revision + 1 },
            ConditionExpression: revision === 0 ? 'attribute_not_exists(revision)' : 'revision = :loaded',
            ...(revision === 0 ? {} : { ExpressionAttributeValues: { ':loaded': revision } }),
          }),
        ),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new StateConflictError(what, revision, 'another notifier');
      throw error;
    }
  }

  async listEvents(cluster: string, query: EventQuery = {}): Promise<EventPage> {
    const range = tableKeys.eventRange(query.since, query.until);
    const result = await this.withTable(() =>
      this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': tableKeys.cluster(cluster), ':from': range.from, ':to': range.to },
          Limit: query.limit ?? 500,
          ScanIndexForward: query.newestFirst !== true,
          ...(query.cursor ? { ExclusiveStartKey: decodeCursor(query.cursor) } : {}),
        }),
      ),
    );
    return {
      events: (result.Items ?? []).map(toEvent),
      ...(result.LastEvaluatedKey ? { cursor: encodeCursor(result.LastEvaluatedKey) } : {}),
    };
  }

  async listAllEvents(query: EventQuery & { since: number; until: number }): Promise<ClusterEvent[]> {
    const events: ClusterEvent[] = [];
    for (const day of daysBetween(query.since, query.until)) {
      const dayQuery = {
        IndexName: TABLE_SCHEMA.index.name,
        KeyConditionExpression: 'gsi1pk = :day AND gsi1sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':day': tableKeys.day(day), ':from': iso(query.since), ':to': `${iso(query.until)}~` },
      };
      for await (const item of this.queryItems(dayQuery)) events.push(toEvent(item));
    }
    return events;
  }

  /** Every item a Query returns, page after page, fetched only as they are read: stopping early stops the reading. */
  private async *queryItems(query: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>): AsyncGenerator<Record<string, unknown>> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.withTable(() =>
        this.documents.send(new QueryCommand({ TableName: this.tableName, ...query, ...(start ? { ExclusiveStartKey: start } : {}) })),
      );
      yield* page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** Runs one call; a missing table is said by name, and created again (once at a time) where that is allowed. */
  private async withTable<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      if (!this.onMissingTable) throw new StoreError(`table ${this.tableName} does not exist: ${messageOf(error)}`, { cause: error });
      this.recreating ??= this.onMissingTable().finally(() => {
        this.recreating = null;
      });
      await this.recreating;
      return call();
    }
  }

  private eventItem(event: ClusterEvent): Record<string, unknown> {
    return { ...event, ...eventItemKeys(event), expiresAt: Math.floor(event.observedAt / 1000) + this.retentionSeconds };
  }
}

const STORE_ONLY = new Set<string>([
  TABLE_SCHEMA.partitionKey,
  TABLE_SCHEMA.sortKey,
  TABLE_SCHEMA.index.partitionKey,
  TABLE_SCHEMA.index.sortKey,
  TABLE_SCHEMA.itemTypeAttribute,
  TABLE_SCHEMA.ttlAttribute,
]);

/** Strips the table's own attributes, leaving the event as the detector made it. */
export function toEvent(item: Record<string, unknown>): ClusterEvent {
  return Object.fromEntries(Object.entries(item).filter(([key]) => !STORE_ONLY.has(key))) as unknown as ClusterEvent;
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new StoreError(`invalid cursor "${cursor.slice(0, 20)}": pass back the cursor a previous page returned`);
  }
}

/** Midnight (UTC, epoch ms) of every day from the one holding `since` to the one holding `until`. */
function daysBetween(since: number, until: number): number[] {
  const days: number[] = [];
  const first = new Date(since);
  for (let t = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate()); t <= until; t += 86_400_000) days.push(t);
  return days;
}

/**
 * Creates the table as the CDK stack does (keys, index, stream with new images, TTL), for local mode and tests.
 * Returns false when it already existed.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return false;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const { partitionKey, sortKey, index } = TABLE_SCHEMA;
  const created = await client
    .send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [partitionKey, sortKey, index.partitionKey, index.sortKey].map((name) => ({
          AttributeName: name,
          AttributeType: 'S',
        })),
        KeySchema: [
          { AttributeName: partitionKey, KeyType: 'HASH' },
          { AttributeName: sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_SCHEMA.streamView },
      }),
    )
    .then(
      () => true,
      (error: unknown) => {
        // Another client of this process (the poller's, the notifier's) created it first.
        if (error instanceof ResourceInUseException) return false;
        throw error;
      },
    );
  await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: tableName });
  if (!created) return false;
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { Enabled: true, AttributeName: TABLE_SCHEMA.ttlAttribute },
    }),
  );
  return true;
}
