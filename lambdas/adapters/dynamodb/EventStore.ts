import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  TransactionCanceledException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { ClusterState } from '../../core/clusterState.js';
import { AWS_CALL_TIMEOUTS } from '../awsClients.js';
import type { ClusterEvent } from '../../core/events.js';

/**
 * The audit trail in one DynamoDB table.
 *
 * | item          | pk                | sk                              | gsi1pk          | gsi1sk                        |
 * |---------------|-------------------|---------------------------------|-----------------|-------------------------------|
 * | cluster state | `CLUSTER#<name>`  | `STATE`                         | -               | -                             |
 * | event         | `CLUSTER#<name>`  | `EVENT#<observedAt ISO>#<id>`   | `DAY#<yyyy-mm-dd>` | `<observedAt ISO>#<id>`    |
 *
 * One Query on pk returns a cluster's events in time order; the `byDay` index returns every cluster's events
 * of a day in time order. The table's stream (new images) feeds the notifier; its filter keeps `itemType = event`.
 */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk', indexName: 'byDay', indexPartitionKey: 'gsi1pk', indexSortKey: 'gsi1sk', ttlAttribute: 'expiresAt' } as const;

/** 13 months: a year of monthly SLA reports plus the month being reported. */
export const DEFAULT_RETENTION_DAYS = 396;

/** DynamoDB allows 100 items per transaction; one is the state. */
export const MAX_EVENTS_PER_COMMIT = 99;

export class StoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** Another poller (or a retry of this one) already wrote a newer state: reload, detect again, commit again. */
export class StateConflictError extends StoreError {
  constructor(
    readonly cluster: string,
    readonly expectedVersion: number,
  ) {
    super(`state of cluster ${cluster} is no longer at version ${expectedVersion}: another poller wrote it first`);
    this.name = 'StateConflictError';
  }
}

/** What the notifier remembers per cluster between stream batches. */
export interface NotifierState {
  /** The incident open now: keyed by the event that opened it. */
  readonly openIncident: { readonly key: string; readonly openedAt: number } | null;
  /** Slack thread per incident key (bot mode), the most recent few. */
  readonly threads: Readonly<Record<string, string>>;
  /** Epoch ms of the last write verified through the VIP. */
  readonly lastVerifiedAt: number | null;
  /** Epoch ms a probe was started and has not reported yet. */
  readonly probeStartedAt: number | null;
}

export const EMPTY_NOTIFIER_STATE: NotifierState = { openIncident: null, threads: {}, lastVerifiedAt: null, probeStartedAt: null };

export interface EventPage {
  readonly events: ClusterEvent[];
  /** Pass back to get the next page; absent on the last one. */
  readonly cursor?: string;
}

export interface EventQuery {
  readonly since?: number;
  readonly until?: number;
  readonly limit?: number;
  readonly cursor?: string;
}

/** The poller's and reporters' port onto the audit trail. */
export interface EventStore {
  loadState(cluster: string): Promise<ClusterState | null>;
  /** Writes the new state and its events atomically, if the stored state is still at `previousVersion`. */
  commit(previousVersion: number, state: ClusterState, events: readonly ClusterEvent[]): Promise<void>;
  listEvents(cluster: string, query?: EventQuery): Promise<EventPage>;
  listAllEvents(query: EventQuery & { since: number; until: number }): Promise<ClusterEvent[]>;
}

export interface DynamoEventStoreOptions {
  readonly tableName: string;
  readonly retentionDays?: number;
  readonly client?: DynamoDBClient;
}

const iso = (ms: number) => new Date(ms).toISOString();
const clusterKey = (cluster: string) => `CLUSTER#${cluster}`;

export class DynamoEventStore implements EventStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number;

  constructor(options: DynamoEventStoreOptions) {
    this.tableName = options.tableName;
    this.retentionSeconds = (options.retentionDays ?? DEFAULT_RETENTION_DAYS) * 86_400;
    this.documents = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({ ...AWS_CALL_TIMEOUTS }), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  async loadState(cluster: string): Promise<ClusterState | null> {
    const result = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: clusterKey(cluster), sk: 'STATE' }, ConsistentRead: true }),
    );
    return (result.Item?.state as ClusterState | undefined) ?? null;
  }

  async commit(previousVersion: number, state: ClusterState, events: readonly ClusterEvent[]): Promise<void> {
    if (events.length > MAX_EVENTS_PER_COMMIT) {
      throw new StoreError(`${events.length} events in one poll exceed the ${MAX_EVENTS_PER_COMMIT} one transaction holds`);
    }
    const stateItem = {
      Put: {
        TableName: this.tableName,
        Item: { pk: clusterKey(state.cluster), sk: 'STATE', itemType: 'state', version: state.version, updatedAt: iso(state.observedAt), state },
        ...(previousVersion === 0
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: 'version = :previous', ExpressionAttributeValues: { ':previous': previousVersion } }),
      },
    };
    const eventItems = events.map((event) => ({
      Put: { TableName: this.tableName, Item: this.eventItem(event), ConditionExpression: 'attribute_not_exists(pk)' },
    }));
    try {
      await this.documents.send(new TransactWriteCommand({ TransactItems: [stateItem, ...eventItems] }));
    } catch (error) {
      if (error instanceof TransactionCanceledException && error.CancellationReasons?.some((r) => r.Code === 'ConditionalCheckFailed')) {
        throw new StateConflictError(state.cluster, previousVersion);
      }
      throw new StoreError(`writing ${events.length} events of cluster ${state.cluster} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Writes one event outside the poller's state (the probe's verdicts); false when its id was already written. */
  /**
   * Records an event written outside a state commit (probe verdicts, canary failures) once per id: a guard item
   * keyed by the id alone is written in the same transaction, because the event's own key holds its time, and
   * two probes of one trigger (two notifiers, a redelivery) finish at different times.
   */
  async recordEvent(event: ClusterEvent): Promise<boolean> {
    const item = this.eventItem(event);
    const guard = { pk: item.pk, sk: `EVENTID#${event.id}`, itemType: 'event_id', expiresAt: item.expiresAt };
    try {
      await this.documents.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.tableName, Item: guard, ConditionExpression: 'attribute_not_exists(pk)' } },
            { Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException && error.CancellationReasons?.some((r) => r.Code === 'ConditionalCheckFailed')) return false;
      throw new StoreError(`writing event ${event.id} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async loadNotifierState(cluster: string): Promise<NotifierState> {
    const result = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: clusterKey(cluster), sk: 'NOTIFIER' }, ConsistentRead: true }),
    );
    return (result.Item?.notifier as NotifierState | undefined) ?? EMPTY_NOTIFIER_STATE;
  }

  async saveNotifierState(cluster: string, state: NotifierState): Promise<void> {
    await this.documents.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: clusterKey(cluster), sk: 'NOTIFIER', itemType: 'notifier', notifier: state } }),
    );
  }

  async listEvents(cluster: string, query: EventQuery = {}): Promise<EventPage> {
    const result = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': clusterKey(cluster),
          ':from': `EVENT#${iso(query.since ?? 0)}`,
          // `~` sorts after every ISO character, so the bound includes events at exactly `until`.
          ':to': query.until === undefined ? 'EVENT#~' : `EVENT#${iso(query.until)}~`,
        },
        Limit: query.limit ?? 500,
        ...(query.cursor ? { ExclusiveStartKey: decodeCursor(query.cursor) } : {}),
      }),
    );
    return {
      events: (result.Items ?? []).map(toEvent),
      ...(result.LastEvaluatedKey ? { cursor: encodeCursor(result.LastEvaluatedKey) } : {}),
    };
  }

  async listAllEvents(query: EventQuery & { since: number; until: number }): Promise<ClusterEvent[]> {
    const events: ClusterEvent[] = [];
    for (const day of daysBetween(query.since, query.until)) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.documents.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: TABLE_KEYS.indexName,
            KeyConditionExpression: 'gsi1pk = :day AND gsi1sk BETWEEN :from AND :to',
            ExpressionAttributeValues: { ':day': `DAY#${day}`, ':from': iso(query.since), ':to': `${iso(query.until)}~` },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        events.push(...(page.Items ?? []).map(toEvent));
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return events;
  }

  private eventItem(event: ClusterEvent): Record<string, unknown> {
    const at = iso(event.observedAt);
    return {
      ...event,
      pk: clusterKey(event.cluster),
      sk: `EVENT#${at}#${event.id}`,
      gsi1pk: `DAY#${at.slice(0, 10)}`,
      gsi1sk: `${at}#${event.id}`,
      itemType: 'event',
      expiresAt: Math.floor(event.observedAt / 1000) + this.retentionSeconds,
    };
  }
}

const STORE_ONLY = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'itemType', 'expiresAt']);

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

function daysBetween(since: number, until: number): string[] {
  const days: string[] = [];
  for (let t = Date.UTC(new Date(since).getUTCFullYear(), new Date(since).getUTCMonth(), new Date(since).getUTCDate()); t <= until; t += 86_400_000) {
    days.push(iso(t).slice(0, 10));
  }
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
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk'].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: TABLE_KEYS.indexName,
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: tableName });
  await client.send(
    new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { Enabled: true, AttributeName: TABLE_KEYS.ttlAttribute } }),
  );
  return true;
}
