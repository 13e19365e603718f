import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEventStore, ensureTable } from '../../lambdas/adapters/dynamodb/DynamoEventStore.js';
import { detect } from '../../lambdas/domain/detector.js';
import { StateConflictError, StoreError } from '../../lambdas/domain/errors.js';
import { type ClusterEvent, eventId, makeEvent } from '../../lambdas/domain/events.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { failed, healthy, observation, primary, replica, view } from '../support/factories.js';

describe('Class: DynamoEventStore (against the moto emulator)', () => {
  let aws: LocalAws;
  let client: DynamoDBClient;
  let store: DynamoEventStore;

  beforeAll(async () => {
    aws = await startLocalAws();
    client = new DynamoDBClient(awsClientConfig(aws));
    await ensureTable(client, 'store-test');
    store = new DynamoEventStore({ tableName: 'store-test', client });
  });
  afterAll(async () => aws?.stop());

  it('creates the table once: a second ensureTable finds it', async () => {
    expect(await ensureTable(client, 'store-test')).toBe(false);
  });

  it('commits a state with its events, and reads both back in time order', async () => {
    // Prepare
    const first = detect(null, healthy(Date.UTC(2026, 10, 26, 3, 0, 0), 'pg_node1', 3));
    const second = detect(
      first.state,
      observation(
        Date.UTC(2026, 10, 26, 3, 0, 1),
        [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)],
        view('pg_node2', 4),
      ),
    );
    // Act
    await store.commit(0, first.state, first.events);
    await store.commit(first.state.version, second.state, second.events);
    // Assess
    expect(await store.loadState('denemek')).toEqual(second.state);
    const { events } = await store.listEvents('denemek');
    expect(events).toEqual([...first.events, ...second.events]);
  });

  it('refuses a commit from a stale version with StateConflictError and writes none of its events', async () => {
    // Prepare: the state is at version 2 from the test above.
    const stale = detect(null, healthy(Date.UTC(2026, 10, 26, 3, 0, 5), 'pg_node3', 9));
    const countBefore = (await store.listEvents('denemek')).events.length;
    // Act
    const attempt = store.commit(
      1,
      { ...stale.state, version: 2 },
      stale.events.map((e) => ({ ...e, id: `${e.id}-stale` })),
    );
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(StateConflictError);
    expect((await store.listEvents('denemek')).events).toHaveLength(countBefore);
  });

  it('refuses a first commit when a state already exists (two pollers starting at once)', async () => {
    const again = detect(null, healthy(Date.UTC(2026, 10, 26, 3, 0, 6), 'pg_node1', 3));
    await expect(store.commit(0, again.state, again.events)).rejects.toBeInstanceOf(StateConflictError);
  });

  it('records an event written outside a commit once per id, even when a second writer stamps it later (two probes of one trigger)', async () => {
    // Prepare: the same probe verdict as two notifiers' probes would record it, 800 ms apart.
    const base = detect(null, healthy(Date.UTC(2025, 0, 15), 'pg_node1', 1)).events[0]!;
    const verdict = { ...base, cluster: 'verdicts', id: 'verdicts:0000000007:000/probe' } as ClusterEvent;
    // Act
    const first = await store.recordEvent(verdict);
    const second = await store.recordEvent({ ...verdict, observedAt: verdict.observedAt + 800 });
    // Assess
    expect([first, second]).toEqual([true, false]);
    expect((await store.listEvents('verdicts')).events.map((e) => e.id)).toEqual([verdict.id]);
    expect(await store.listAllEvents({ since: verdict.observedAt - 1, until: verdict.observedAt + 1_000 })).toHaveLength(1);
  });

  it("saves the notifier's state only at the revision it was loaded at: of two notifiers racing, the second gets StateConflictError", async () => {
    const loaded = await store.loadNotifierState('racing');
    expect(loaded.revision).toBe(0);
    const first = await store.saveNotifierState('racing', { ...loaded, lastVerifiedAt: 1 });
    await expect(store.saveNotifierState('racing', { ...loaded, lastVerifiedAt: 2 })).rejects.toBeInstanceOf(StateConflictError);
    await store.saveNotifierState('racing', { ...first, lastVerifiedAt: 3 });
    expect(await store.loadNotifierState('racing')).toMatchObject({ lastVerifiedAt: 3, revision: 2 });
  });

  it('commits any number of events in order, the version check kept (issue 17, item 5)', async () => {
    // Prepare: 150 events in one poll, more than one transaction holds.
    const first = detect(null, healthy(Date.UTC(2026, 10, 28), 'pg_node1', 1));
    const cluster = 'many-events';
    const at = Date.UTC(2026, 10, 28, 0, 0, 1);
    const state = { ...first.state, cluster, version: 1 };
    const events = Array.from({ length: 150 }, (_, i) =>
      makeEvent(
        { id: eventId(cluster, 1, i), cluster, observedAt: at, previousObservedAt: null },
        { type: 'member_added', member: `m${i}` },
      ),
    );
    // Act
    await store.commit(0, state, events);
    // Assess: every event, in index order; and a stale commit is still refused.
    const read: ClusterEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listEvents(cluster, { cursor });
      read.push(...page.events);
      cursor = page.cursor;
    } while (cursor);
    expect(read.map((e) => e.id)).toEqual(events.map((e) => e.id));
    await expect(store.commit(0, { ...state, version: 2 }, events.slice(0, 1))).rejects.toBeInstanceOf(StateConflictError);
  });

  it('pages through a long history with a cursor, oldest first', async () => {
    // Prepare: 30 polls of a flapping member, one event each.
    let state = detect(null, healthy(Date.UTC(2026, 10, 27), 'pg_node1', 1));
    await store.commit(
      0,
      { ...state.state, cluster: 'paged' },
      state.events.map((e) => ({ ...e, cluster: 'paged' })),
    );
    for (let i = 1; i <= 30; i++) {
      const obs =
        i % 2 === 1
          ? observation(
              Date.UTC(2026, 10, 27) + i * 1000,
              [primary('pg_node1', 1), failed('pg_node2'), replica('pg_node3', 1)],
              view('pg_node1', 1),
            )
          : healthy(Date.UTC(2026, 10, 27) + i * 1000, 'pg_node1', 1);
      const next = detect(state.state, obs);
      await store.commit(
        state.state.version,
        { ...next.state, cluster: 'paged' },
        next.events.map((e) => ({ ...e, cluster: 'paged' })),
      );
      state = next;
    }
    // Act
    const seen: ClusterEvent[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listEvents('paged', { limit: 7, cursor });
      seen.push(...page.events);
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 20);
    // Assess
    expect(seen).toHaveLength(31);
    expect(pages).toBeGreaterThanOrEqual(5);
    expect(seen.map((e) => e.observedAt)).toEqual([...seen.map((e) => e.observedAt)].sort((a, b) => a - b));
  });

  it("filters a cluster's events by time range", async () => {
    const { events } = await store.listEvents('paged', { since: Date.UTC(2026, 10, 27) + 10_000, until: Date.UTC(2026, 10, 27) + 12_000 });
    expect(events.map((e) => e.observedAt)).toEqual([
      Date.UTC(2026, 10, 27) + 10_000,
      Date.UTC(2026, 10, 27) + 11_000,
      Date.UTC(2026, 10, 27) + 12_000,
    ]);
  });

  it("returns every cluster's events of a time range through the index, across days", async () => {
    const events = await store.listAllEvents({ since: Date.UTC(2026, 10, 26), until: Date.UTC(2026, 10, 28) });
    expect(new Set(events.map((e) => e.cluster))).toEqual(new Set(['denemek', 'paged']));
    expect(events.filter((e) => e.cluster === 'paged')).toHaveLength(31);
  });

  it('keeps the watch record: the first poll in the registry, the last heartbeat, and the gaps overlapping a range', async () => {
    // Prepare: cluster "gappy" first polled on 1 November, away twice (an hour on the 3rd, a day on the 10th).
    const t = (day: number, hour = 0) => Date.UTC(2026, 10, day, hour);
    const gapStore = new DynamoEventStore({ tableName: 'store-test', client });
    let state = detect(null, { ...healthy(t(1), 'pg_node1', 3), cluster: 'gappy' }).state;
    await gapStore.commit(0, state, detect(null, { ...healthy(t(1), 'pg_node1', 3), cluster: 'gappy' }).events);
    for (const [from, until] of [
      [t(3, 1), t(3, 2)],
      [t(10), t(11)],
    ] as const) {
      for (const [at, allowance] of [
        [from, undefined],
        [until, 60_000],
      ] as const) {
        const next = detect(state, { ...healthy(at, 'pg_node1', 3), cluster: 'gappy' }, {}, { unwatchedAfterMs: allowance });
        const written = { ...next.state, version: state.version + 1 };
        await gapStore.commit(state.version, written, next.events);
        state = written;
      }
    }
    // Act
    const record = await store.watchRecord('gappy', { start: t(5), end: t(20) });
    const early = await store.watchRecord('gappy', { start: t(2), end: t(4) });
    // Assess: a gap ending before the range is not read, nor one starting after it.
    expect(record).toEqual({ firstWatchedAt: t(1), lastPolledAt: t(11), gaps: [{ start: t(10), end: t(11) }] });
    expect(early.gaps).toEqual([{ start: t(3, 1), end: t(3, 2) }]);
    expect((await store.listWatchedClusters()).find((c) => c.cluster === 'gappy')).toEqual({ cluster: 'gappy', firstWatchedAt: t(1) });
    expect(await store.watchRecord('never-seen', { start: t(1), end: t(2) })).toEqual({
      firstWatchedAt: null,
      lastPolledAt: null,
      gaps: [],
    });
    // Many at once: the same records, in batches of 50 clusters (here 120 names, most never watched).
    const names = ['gappy', ...Array.from({ length: 119 }, (_, i) => `absent-${i}`)];
    const many = await store.watchRecords(names, { start: t(5), end: t(20) });
    expect(many.size).toBe(120);
    expect(many.get('gappy')).toEqual(record);
    expect(many.get('absent-118')).toEqual({ firstWatchedAt: null, lastPolledAt: null, gaps: [] });
    const { events } = await store.listEvents('gappy', { newestFirst: true, limit: 1 });
    expect(events.map((e) => [e.type, e.observedAt])).toEqual([['watch_gap', t(11)]]);
  });

  it('keeps the first poll in the registry when a later process registers the cluster again', async () => {
    const later = new DynamoEventStore({ tableName: 'store-test', client });
    const state = (await later.loadState('gappy'))!;
    const next = {
      ...detect(state, { ...healthy(Date.UTC(2026, 10, 15), 'pg_node1', 3), cluster: 'gappy' }).state,
      version: state.version + 1,
    };
    await later.commit(state.version, next, []);
    expect((await later.listWatchedClusters()).find((c) => c.cluster === 'gappy')?.firstWatchedAt).toBe(Date.UTC(2026, 10, 1));
  });

  it('rejects a malformed cursor with a message that says what to pass', async () => {
    await expect(store.listEvents('paged', { cursor: 'not-a-cursor' })).rejects.toThrow(/invalid cursor/);
  });

  it('reports an unreachable endpoint as a StoreError naming the cluster, without retrying for ever', async () => {
    const offline = new DynamoEventStore({
      tableName: 'store-test',
      client: new DynamoDBClient({ ...awsClientConfig(aws), endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }),
    });
    const state = detect(null, healthy(Date.UTC(2026, 10, 26), 'pg_node1', 1));
    await expect(offline.commit(0, state.state, state.events)).rejects.toBeInstanceOf(StoreError);
    await expect(offline.commit(0, state.state, state.events)).rejects.toThrow(/cluster denemek/);
  });
});
