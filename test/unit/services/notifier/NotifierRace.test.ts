// Two notifiers reading the same stream records (an overlapping invocation, a second pipeline): whichever applies
// an event second must give every channel the same page the first gave, and nothing twice.
import { describe, expect, it } from 'vitest';
import { detect } from '../../../../lambdas/domain/detector.js';
import { type ClusterEvent, makeEvent } from '../../../../lambdas/domain/events.js';
import type { PagerDutyRequest } from '../../../../lambdas/domain/pagerduty.js';
import type { SlackThread } from '../../../../lambdas/domain/ports.js';
import { Notifier } from '../../../../lambdas/services/notifier/Notifier.js';
import { failed, healthy, observation, primary, replica, view } from '../../../support/factories.js';
import { memoryIdempotency, memoryNotifierStore, NO_STORMS } from '../../../support/notifierFakes.js';

const start = detect(null, healthy(1_000, 'pg_node1', 3));
const failover = detect(
  start.state,
  observation(2_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4)),
).events;

function verified(incident: string): ClusterEvent {
  return makeEvent(
    { id: `${incident}/probe`, cluster: 'denemek', observedAt: 9_000, previousObservedAt: 2_000 },
    {
      type: 'write_verified',
      trigger: { id: incident, type: 'leader_changed' },
      incident,
      restoredAt: new Date(5_000).toISOString(),
      stableSince: new Date(5_000).toISOString(),
      attempts: 20,
      errors: {},
      servedBy: { address: '10.0.0.2', port: 5432, timeline: 4 },
      outage: {
        startedAfter: 1_000,
        startedBefore: 2_000,
        endedAfter: 4_800,
        endedBefore: 5_000,
        downtimeMinMs: 2_800,
        downtimeMaxMs: 4_000,
      },
    },
  );
}

/** Two notifiers on one state table and one set of idempotency records, with every channel recorded. */
function twoNotifiers() {
  const store = memoryNotifierStore();
  const idempotent = memoryIdempotency();
  const record = { sns: [] as string[], parents: [] as string[], replies: [] as string[], edits: [] as string[], pages: [] as string[] };
  const reported: string[] = [];
  let ts = 0;
  const make = () =>
    new Notifier({
      store,
      idempotent,
      channels: {
        sns: {
          publishStorm: NO_STORMS,
          publish: async (alert) => {
            record.sns.push(alert.eventId);
            return 'id';
          },
        },
        slack: {
          canEdit: true,
          post: async (message, thread: SlackThread | null) => {
            if (thread) record.replies.push(`${thread.ts}:${message.text}`);
            else record.parents.push(String(++ts));
            return { ts: thread ? null : String(ts), channel: 'C1', attempts: 1 };
          },
          update: async (thread) => {
            record.edits.push(thread.ts);
            return { ts: thread.ts, channel: 'C1', attempts: 1 };
          },
        },
        pagerduty: {
          send: async (request: PagerDutyRequest) => {
            record.pages.push(request.endpoint === 'change' ? 'change' : `${request.body.event_action} ${request.body.dedup_key}`);
            return { attempts: 1 };
          },
        },
      },
      probes: { launch: async () => {} },
      clock: () => 3_000,
      log: { debug() {}, info() {}, warn() {}, error() {} },
      onAlert: (alert) => reported.push(alert.eventId),
    });
  return { first: make(), second: make(), store, record, reported };
}

/** Delivers the record as a stream does: again after a failure, a bounded number of times. */
async function delivered(notifier: Notifier, event: ClusterEvent): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await notifier.handle(event);
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

describe('Class: Notifier, two readers of one stream', () => {
  it('a reader that lags the whole incident behind repeats nothing: one trigger, one resolve, one Slack parent, each alert once', async () => {
    const { first, second, store, record, reported } = twoNotifiers();
    const events = [...failover];
    for (const event of events) await first.handle(event);
    const key = store.states.get('denemek')!.page!.key;
    await first.handle(verified(key));
    const once = structuredClone(record);
    for (const event of [...events, verified(key)]) await second.handle(event);
    expect(record).toEqual(once);
    expect(record.pages).toEqual([`trigger ${key}`, `resolve ${key}`]);
    expect(record.parents).toHaveLength(1);
    expect(new Set(reported).size).toBe(reported.length);
    expect(reported).toEqual(record.sns);
  });

  it('two readers on every record at the same moment: the pages of one reader, each alert reported once', async () => {
    const { first, second, store, record, reported } = twoNotifiers();
    for (const event of failover) await Promise.all([delivered(first, event), delivered(second, event)]);
    const key = store.states.get('denemek')!.page!.key;
    await Promise.all([delivered(first, verified(key)), delivered(second, verified(key))]);
    expect(record.pages).toEqual([`trigger ${key}`, `resolve ${key}`]);
    expect(record.parents).toHaveLength(1);
    expect(new Set(record.replies).size).toBe(record.replies.length);
    expect(new Set(record.sns).size).toBe(record.sns.length);
    expect([...reported].sort()).toEqual([...record.sns].sort());
    expect(store.states.get('denemek')!.page!.status).toBe('resolved');
  });
});
