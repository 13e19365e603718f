// Storms through the notifier, channels recorded: one fleet page per channel, every cluster's incident grouped
// under it, the fleet page resolved with its last member.
import { describe, expect, it } from 'vitest';
import { detect } from '../../../../lambdas/domain/detector.js';
import { type ClusterEvent, makeEvent } from '../../../../lambdas/domain/events.js';
import type { PageMark } from '../../../../lambdas/domain/pageLifecycle.js';
import type { PagerDutyRequest } from '../../../../lambdas/domain/pagerduty.js';
import type { SlackThread } from '../../../../lambdas/domain/ports.js';
import type { StormPage } from '../../../../lambdas/domain/stormPages.js';
import { Notifier } from '../../../../lambdas/services/notifier/Notifier.js';
import { Storms } from '../../../../lambdas/services/notifier/storms.js';
import { failed, healthy, observation, primary, replica, view } from '../../../support/factories.js';
import { memoryFleetStore, memoryIdempotency, memoryNotifierStore } from '../../../support/notifierFakes.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };

/** The events of cluster `name` failing over at `at` (its leader lost, pg_node2 promoted). */
function failover(name: string, at: number): readonly ClusterEvent[] {
  const start = detect(null, { ...healthy(at - 1_000, 'pg_node1', 3), cluster: name });
  const lost = observation(at, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4));
  return detect(start.state, { ...lost, cluster: name }).events;
}

function verified(cluster: string, incident: string, at: number): ClusterEvent {
  return makeEvent(
    { id: `${incident}/probe`, cluster, observedAt: at, previousObservedAt: at - 1_000 },
    {
      type: 'write_verified',
      trigger: { id: incident, type: 'leader_changed' },
      incident,
      restoredAt: new Date(at - 500).toISOString(),
      stableSince: new Date(at - 500).toISOString(),
      attempts: 20,
      errors: {},
      servedBy: { address: '10.0.0.2', port: 5432, timeline: 4 },
      outage: { startedAfter: 0, startedBefore: 1, endedAfter: 2_000, endedBefore: 2_500, downtimeMinMs: 2_000, downtimeMaxMs: 2_500 },
    },
  );
}

function stormNotifier(slackCanEdit = true) {
  const store = memoryNotifierStore();
  const fleet = memoryFleetStore();
  const record = {
    sns: [] as { eventId: string; mark: PageMark | undefined }[],
    stormSns: [] as StormPage[],
    roots: [] as string[],
    replies: [] as { thread: string; text: string }[],
    edits: [] as string[],
    pages: [] as PagerDutyRequest[],
  };
  let ts = 0;
  const channels = {
    sns: {
      publish: async (alert: { eventId: string }, _key: string, mark?: PageMark) => {
        record.sns.push({ eventId: alert.eventId, mark });
        return 'id';
      },
      publishStorm: async (page: StormPage) => {
        record.stormSns.push(page);
        return 'id';
      },
    },
    slack: {
      canEdit: slackCanEdit,
      post: async (message: { text: string }, thread: SlackThread | null) => {
        ts++;
        if (thread) record.replies.push({ thread: thread.ts, text: message.text });
        else record.roots.push(message.text);
        return { ts: slackCanEdit ? String(ts) : null, channel: 'C1', attempts: 1 };
      },
      update: async (thread: SlackThread) => {
        record.edits.push(thread.ts);
        return { ts: thread.ts, channel: 'C1', attempts: 1 };
      },
    },
    pagerduty: {
      send: async (request: PagerDutyRequest) => {
        record.pages.push(request);
        return { attempts: 1 };
      },
    },
  };
  const az = (cluster: string) => ({ az: Number(cluster.slice(3)) % 4 === 0 ? 'eu-west-1b' : 'eu-west-1a' });
  const storms = new Storms({ fleet, settings: { clusters: 5, windowMs: 60_000 }, tagsOf: az, channels, log });
  const probes = { launch: async () => {} };
  const notifier = new Notifier({ store, channels, idempotent: memoryIdempotency(), probes, clock: () => 0, log, storms });
  return { notifier, store, fleet, record };
}

describe('Class: Notifier, storms', () => {
  it('8 clusters failing over in 10 s: the first 4 page alone, then one fleet page per channel and every later one grouped under it', async () => {
    const { notifier, store, fleet, record } = stormNotifier();
    const clusters = Array.from({ length: 8 }, (_, i) => `db-${i + 1}`);
    for (const [i, cluster] of clusters.entries())
      for (const event of failover(cluster, 1_000_000 + i * 1_250)) await notifier.handle(event);
    const storm = fleet.current().storm!;
    expect(storm.members.map((m) => [m.cluster, m.pagedAlone])).toEqual(clusters.map((c, i) => [c, i < 4]));
    // One fleet page per channel.
    expect(record.stormSns.map((p) => p.action)).toEqual(['open']);
    expect(record.roots.filter((t) => t.startsWith('STORM'))).toHaveLength(1);
    const stormPages = record.pages.filter((p) => p.endpoint === 'enqueue' && p.body.dedup_key === storm.key);
    expect(stormPages.map((p) => p.endpoint === 'enqueue' && p.body.event_action)).toEqual(['trigger']);
    // The common cause, from the tags: db-4 and db-8 are in eu-west-1b.
    expect(record.stormSns[0]!.cause.tags).toEqual([{ key: 'az', value: 'eu-west-1a', clusters: 4 }]);
    // Members from the fifth on: their incident message a reply in the fleet thread, their SNS only for machines,
    // their PagerDuty alerts in the storm's group.
    const fleetThread = fleet.current().threads![storm.key]!.ts;
    expect(record.replies.filter((r) => r.thread === fleetThread)).toHaveLength(4);
    expect(record.roots).toHaveLength(4 + 1);
    const grouped = record.sns.filter((m) => m.mark?.storm === storm.key);
    expect(new Set(grouped.map((m) => m.eventId.split(':')[0]))).toEqual(new Set(clusters.slice(4)));
    const memberTriggers = record.pages.filter(
      (p) => p.endpoint === 'enqueue' && p.body.event_action === 'trigger' && p.body.dedup_key !== storm.key,
    );
    expect(memberTriggers).toHaveLength(8);
    expect(memberTriggers.map((p) => p.endpoint === 'enqueue' && p.body.payload?.group)).toEqual([
      ...clusters.slice(0, 4),
      ...clusters.slice(4).map(() => storm.key),
    ]);

    // Act: every cluster's writes are verified.
    for (const [i, cluster] of clusters.entries()) {
      const key = store.states.get(cluster)!.page!.key;
      await notifier.handle(verified(cluster, key, 1_100_000 + i * 1_000));
    }
    // Assess: every incident resolved, and the fleet page with the last of them, once per channel.
    for (const cluster of clusters) expect(store.states.get(cluster)!.page!.status).toBe('resolved');
    expect(record.stormSns.map((p) => p.action)).toEqual(['open', 'resolve']);
    expect(
      record.pages
        .filter((p) => p.endpoint === 'enqueue' && p.body.dedup_key === storm.key)
        .map((p) => p.endpoint === 'enqueue' && p.body.event_action),
    ).toEqual(['trigger', 'resolve']);
    expect(fleet.current().storm).toBeNull();
    expect(fleet.current().previous).toMatchObject({ key: storm.key, status: 'resolved' });
  });

  it('a webhook gets the fleet page and its resolution, and nothing of the grouped members', async () => {
    const { notifier, store, record } = stormNotifier(false);
    const clusters = Array.from({ length: 7 }, (_, i) => `db-${i + 1}`);
    for (const [i, cluster] of clusters.entries())
      for (const event of failover(cluster, 2_000_000 + i * 1_000)) await notifier.handle(event);
    for (const [i, cluster] of clusters.entries())
      await notifier.handle(verified(cluster, store.states.get(cluster)!.page!.key, 2_100_000 + i));
    const stormMessages = record.roots.filter((t) => t.includes('storm of') || t.startsWith('STORM'));
    expect(stormMessages).toHaveLength(2);
    // The four that paged alone: opening and resolution each; the three grouped ones: nothing of their own.
    expect(record.roots).toHaveLength(4 * 2 + 2);
  });

  it("two notifier processes share the fleet record: neither loses the other's members, whatever each last saw", async () => {
    // Prepare: two Storms on one fleet record, as two notifier functions (two stream shards) have.
    const fleet = memoryFleetStore();
    const settings = { clusters: 3, windowMs: 60_000 };
    const storms = () => new Storms({ fleet, settings, tagsOf: () => ({}), channels: {}, log });
    const [a, b] = [storms(), storms()];
    const once = async <T>(_key: string, send: () => Promise<T>) => send();
    const incident = (i: number) => ({ key: `db-${i}:1`, cluster: `db-${i}`, openedAt: 1_000 + i }) as never;
    const event = failover('db-0', 1_000).find((e) => e.type === 'leader_changed')!;
    // Act: A sees the first opening; B the next three (the storm); A then hears first of the last one resolving,
    // from a copy of the record that has never heard of it.
    await a.opened(incident(1), event, once);
    for (const i of [2, 3, 4]) await b.opened(incident(i), event, once);
    for (const i of [4, 1, 2, 3]) await a.moved(incident(i), 'resolved', 100_000 + i, once);
    // Assess: the storm knew all four and ended with the last.
    expect(fleet.current().storm).toBeNull();
    expect(fleet.current().previous?.members.map((m) => [m.cluster, m.status])).toEqual([1, 2, 3, 4].map((i) => [`db-${i}`, 'resolved']));
  });

  it('saves the openings that arrive while a save is in flight together, each caller still learning its own role', async () => {
    // Prepare: a fleet record whose saves take a while and are counted, and two processes on it.
    const stored = memoryFleetStore();
    let saves = 0;
    const slow = {
      loadFleetState: () => stored.loadFleetState(),
      saveFleetState: async (state: Parameters<typeof stored.saveFleetState>[0]) => {
        saves++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return stored.saveFleetState(state);
      },
    };
    const settings = { clusters: 5, windowMs: 60_000 };
    const storms = () => new Storms({ fleet: slow, settings, tagsOf: () => ({}), channels: {}, log });
    const [a, b] = [storms(), storms()];
    const once = async <T>(_key: string, send: () => Promise<T>) => send();
    const incident = (i: number) => ({ key: `db-${i}:1`, cluster: `db-${i}`, openedAt: 1_000 + i }) as never;
    const event = failover('db-0', 1_000).find((e) => e.type === 'leader_changed')!;
    // Act: 60 openings at once, split between the two processes, so their groups also race each other's saves.
    const refs = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).opened(incident(i), event, once)));
    // Assess: every opening recorded once, four paged alone before the storm, the rest grouped; far fewer saves.
    const storm = stored.current().storm!;
    expect(storm.members.map((m) => m.cluster).sort()).toEqual(Array.from({ length: 60 }, (_, i) => `db-${i}`).sort());
    expect(storm.members.filter((m) => m.pagedAlone)).toHaveLength(4);
    expect(refs.filter((r) => r === null)).toHaveLength(4);
    expect(refs.filter((r) => r?.key === storm.key)).toHaveLength(56);
    expect(saves).toBeLessThan(30);
  });
});
