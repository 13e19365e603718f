/**
 * The audit trail's table, as plain data: the CDK construct (`lib/FailoverStorage.ts`), `ensureTable` (local mode
 * and tests) and the store's key builders all read this one description. No SDK import, so synthesising a stack
 * never loads the AWS SDK.
 *
 * | item          | pk                | sk                              | gsi1pk             | gsi1sk                  |
 * |---------------|-------------------|---------------------------------|--------------------|-------------------------|
 * | cluster state | `CLUSTER#<name>`  | `STATE`                         | -                  | -                       |
 * | notifier      | `CLUSTER#<name>`  | `NOTIFIER`                      | -                  | -                       |
 * | event         | `CLUSTER#<name>`  | `EVENT#<observedAt ISO>#<id>`   | `DAY#<yyyy-mm-dd>` | `<observedAt ISO>#<id>` |
 * | event id guard| `CLUSTER#<name>`  | `EVENTID#<id>`                  | -                  | -                       |
 * | watch gap     | `CLUSTER#<name>`  | `GAP#<unwatchedUntil ISO>#<id>` | -                  | -                       |
 * | registry      | `CLUSTERS`        | `<name>`                        | -                  | -                       |
 * | fleet notifier| `FLEET`           | `NOTIFIER`                      | -                  | -                       |
 * | idempotency   | `IDEMPOTENCY`     | Powertools' key hash            | -                  | -                       |
 *
 * One Query on pk returns a cluster's events in time order; the `byDay` index returns every cluster's events
 * of a day in time order. A watch gap repeats a `watch_gap` event keyed by its end, so that the gaps overlapping a
 * period are the few read from its start on; the registry lists every cluster ever watched, with its first poll.
 * The table's stream (new images) feeds the notifier; its filter keeps `itemType = event`.
 */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  index: { name: 'byDay', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  ttlAttribute: 'expiresAt',
  /** The attribute the stream filter reads; only `event` items reach the notifier. */
  itemTypeAttribute: 'itemType',
  streamView: 'NEW_IMAGE',
} as const;

const iso = (ms: number) => new Date(ms).toISOString();

/** The key builders every item of the table is written and read with. */
export const tableKeys = {
  cluster: (cluster: string) => `CLUSTER#${cluster}`,
  state: 'STATE',
  notifier: 'NOTIFIER',
  idempotency: 'IDEMPOTENCY',
  eventSort: (observedAt: number, id: string) => `EVENT#${iso(observedAt)}#${id}`,
  /** Inclusive bounds of a cluster's events between two instants (`~` sorts after every ISO character). */
  eventRange: (since: number | undefined, until: number | undefined) => ({
    from: `EVENT#${iso(since ?? 0)}`,
    to: until === undefined ? 'EVENT#~' : `EVENT#${iso(until)}~`,
  }),
  eventIdGuard: (id: string) => `EVENTID#${id}`,
  gap: (unwatchedUntil: number, id: string) => `GAP#${iso(unwatchedUntil)}#${id}`,
  /** Gaps ending at or after an instant. */
  gapsFrom: (since: number) => ({ from: `GAP#${iso(since)}`, to: 'GAP#~' }),
  registry: 'CLUSTERS',
  fleet: 'FLEET',
  day: (observedAt: number) => `DAY#${iso(observedAt).slice(0, 10)}`,
  daySort: (observedAt: number, id: string) => `${iso(observedAt)}#${id}`,
} as const;

/** The keys and type of an event's item: the store writes these, and the benchmark seeds them the same way. */
export function eventItemKeys(event: { readonly cluster: string; readonly observedAt: number; readonly id: string }) {
  return {
    pk: tableKeys.cluster(event.cluster),
    sk: tableKeys.eventSort(event.observedAt, event.id),
    gsi1pk: tableKeys.day(event.observedAt),
    gsi1sk: tableKeys.daySort(event.observedAt, event.id),
    itemType: 'event',
  } as const;
}
