import { describe, expect, it } from 'vitest';
import { detect } from '../../../../lambdas/domain/detector.js';
import { DeliveryError } from '../../../../lambdas/domain/errors.js';
import { type ClusterEvent, makeEvent } from '../../../../lambdas/domain/events.js';
import type { PagerDutyRequest } from '../../../../lambdas/domain/pagerduty.js';
import type { AlertChannels } from '../../../../lambdas/domain/ports.js';
import { Notifier } from '../../../../lambdas/services/notifier/Notifier.js';
import { failed, healthy, observation, ok, primary, replica, view } from '../../../support/factories.js';
import { memoryIdempotency, memoryNotifierStore, NO_STORMS } from '../../../support/notifierFakes.js';

/** The poller's events for a leader lost and replaced (failover), or handed over (switchover: it was seen stopping). */
function detected(kind: 'failover' | 'switchover'): readonly ClusterEvent[] {
  const start = detect(null, healthy(1_000, 'pg_node1', 3));
  if (kind === 'failover') {
    return detect(
      start.state,
      observation(2_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4)),
    ).events;
  }
  const stopping = primary('pg_node1', 3, { state: 'stopping', timeline: null });
  const going = detect(start.state, observation(2_000, [stopping, replica('pg_node2', 3), replica('pg_node3', 3)], view('pg_node1', 3)));
  const demoted = ok('pg_node1', { role: 'demoted', state: 'stopped', timeline: null });
  const done = detect(going.state, observation(3_000, [demoted, primary('pg_node2', 4), replica('pg_node3', 3)], view('pg_node2', 4)));
  return [...going.events, ...done.events];
}

function verdict(type: 'write_verified' | 'write_unavailable', incident: string, at: number): ClusterEvent {
  const outage = {
    startedAfter: 1_000,
    startedBefore: 2_000,
    endedAfter: 5_000,
    endedBefore: 5_200,
    downtimeMinMs: 3_000,
    downtimeMaxMs: 4_200,
  };
  const common = { trigger: { id: incident, type: 'leader_changed' }, incident, attempts: 40, errors: {}, outage };
  const envelope = { id: `${incident}/probe`, cluster: 'denemek', observedAt: at, previousObservedAt: 3_000 };
  return type === 'write_verified'
    ? makeEvent(envelope, {
        type,
        ...common,
        restoredAt: new Date(5_200).toISOString(),
        servedBy: { address: '10.0.0.2', port: 5432, timeline: 4 },
      })
    : makeEvent(envelope, { type, ...common, lastError: 'connection timed out', deadlineSeconds: 90 });
}

/** A notifier with PagerDuty (and SNS, Slack when given), its state and idempotency in memory; every record is delivered twice. */
function pagerNotifier(others: Pick<AlertChannels, 'sns' | 'slack'> = {}) {
  const idempotent = memoryIdempotency();
  const store = memoryNotifierStore();
  const sent: PagerDutyRequest[] = [];
  const notifier = new Notifier({
    store,
    channels: {
      ...others,
      pagerduty: {
        send: async (request) => {
          sent.push(request);
          return { attempts: 1 };
        },
      },
    },
    idempotent,
    probes: { launch: async () => {} },
    clock: () => 3_000,
    log: { debug() {}, info() {}, warn() {}, error() {} },
  });
  const handle = async (events: readonly ClusterEvent[]) => {
    for (const event of events) for (let delivery = 0; delivery < 2; delivery++) await notifier.handle(event);
  };
  /** Each delivery as the stream makes it: a failure is an outcome, and the record comes again. */
  const deliverEach = async (events: readonly ClusterEvent[]) => {
    const outcomes: string[] = [];
    for (const event of events) {
      for (let delivery = 0; delivery < 2; delivery++) {
        outcomes.push(
          await notifier.handle(event).then(
            () => 'ok',
            (error: Error) => error.message,
          ),
        );
      }
    }
    return outcomes;
  };
  const actions = () => sent.map((r) => (r.endpoint === 'change' ? 'change' : `${r.body.event_action} ${r.body.dedup_key}`));
  return { handle, deliverEach, sent, actions, incident: () => store.states.get('denemek')?.page ?? null };
}

describe('Notifier and PagerDuty: one incident, one trigger, one resolve', () => {
  it('a failover triggers once and resolves once on the same dedup_key, when writes are verified for good', async () => {
    const pager = pagerNotifier();
    const events = detected('failover');
    await pager.handle(events);
    const key = pager.incident()!.key;
    expect(pager.actions()).toEqual([`trigger ${key}`]);
    await pager.handle([verdict('write_verified', key, 9_000)]);
    expect(pager.actions()).toEqual([`trigger ${key}`, `resolve ${key}`]);
    const trigger = pager.sent[0]!;
    expect(trigger.endpoint === 'enqueue' && trigger.body.payload).toMatchObject({ source: 'denemek', group: 'denemek' });
  });

  it('a risk before the failover pages and resolves on its own key, beside the open failover incident and without touching it', async () => {
    const pager = pagerNotifier();
    await pager.handle(detected('failover'));
    const incident = pager.incident()!;
    const since = 2_500;
    const envelope = (n: number) => ({ id: `denemek:risk:${n}`, cluster: 'denemek', observedAt: 2_600 + n, previousObservedAt: 2_000 });
    await pager.handle([
      makeEvent(envelope(1), {
        type: 'failover_readiness_lost',
        leader: 'pg_node2',
        level: 'warning',
        candidates: [],
        excluded: [],
        since,
      }),
      makeEvent(envelope(2), { type: 'failover_readiness_restored', leader: 'pg_node2', candidates: ['pg_node3'], since, afterMs: 4_000 }),
    ]);
    expect(pager.actions()).toEqual([`trigger ${incident.key}`, 'trigger denemek:readiness:2500', 'resolve denemek:readiness:2500']);
    expect(pager.incident()).toMatchObject({ key: incident.key, status: 'open' });
  });

  it('a switchover is one change event and no trigger, even when its writes are verified', async () => {
    const pager = pagerNotifier();
    const events = detected('switchover');
    expect(events.find((e) => e.type === 'leader_changed')).toMatchObject({ kind: 'switchover' });
    await pager.handle(events);
    await pager.handle([verdict('write_verified', pager.incident()!.key, 9_000)]);
    expect(pager.actions()).toEqual(['change']);
    expect(pager.incident()).toMatchObject({ planned: true, status: 'resolved' });
  });

  it('writes still failing at the deadline leave the trigger open with the critical severity', async () => {
    const pager = pagerNotifier();
    await pager.handle(detected('failover'));
    const key = pager.incident()!.key;
    await pager.handle([verdict('write_unavailable', key, 95_000)]);
    expect(pager.actions()).toEqual([`trigger ${key}`, `trigger ${key}`]);
    const escalation = pager.sent[1]!;
    expect(escalation.endpoint === 'enqueue' && escalation.body.payload?.severity).toBe('critical');
    expect(pager.incident()!.status).toBe('escalated');
  });

  it('a revoked Slack token does not keep SNS or PagerDuty from delivering; the record is retried for Slack alone', async () => {
    const published: string[] = [];
    const pager = pagerNotifier({
      sns: {
        publishStorm: NO_STORMS,
        publish: async (alert) => {
          published.push(alert.eventId);
          return 'message-id';
        },
      },
      slack: {
        canEdit: true,
        post: async () => Promise.reject(new DeliveryError('slack', 'chat.postMessage refused: token_revoked')),
        update: async () => Promise.reject(new DeliveryError('slack', 'chat.update refused: token_revoked')),
      },
    });
    const events = detected('failover');
    const outcomes = await pager.deliverEach(events);
    expect(outcomes.filter((o) => o !== 'ok').every((o) => o.includes('token_revoked'))).toBe(true);
    expect(pager.actions()).toEqual([`trigger ${pager.incident()?.key ?? events[0]!.id}`]);
    expect(new Set(published).size).toBe(published.length);
    expect(published.length).toBeGreaterThan(0);
  });

  it('a one-shot warning after an incident resolved gets its own Slack parent and page, and never edits the old parent', async () => {
    const posts: (string | null)[] = [];
    const edits: string[] = [];
    let ts = 0;
    const pager = pagerNotifier({
      slack: {
        canEdit: true,
        post: async (_message, thread) => {
          posts.push(thread?.ts ?? null);
          return { ts: thread ? null : String(++ts), channel: 'C1', attempts: 1 };
        },
        update: async (thread) => {
          edits.push(thread.ts);
          return { ts: thread.ts, channel: 'C1', attempts: 1 };
        },
      },
    });
    await pager.handle(detected('failover'));
    await pager.handle([verdict('write_verified', pager.incident()!.key, 9_000)]);
    expect(pager.incident()!.status).toBe('resolved');
    const before = { posts: posts.length, edits: edits.length };
    const mismatch = makeEvent(
      { id: 'denemek:0000000009:000', cluster: 'denemek', observedAt: 10_000, previousObservedAt: 9_000 },
      { type: 'identity_mismatch', member: 'pg_node3', field: 'system_identifier', expected: '1', actual: '2', rebootstrapped: false },
    );
    await pager.handle([mismatch]);
    expect(edits.length).toBe(before.edits);
    expect(posts.slice(before.posts)).toEqual([null, String(ts)]);
    expect(pager.actions().at(-1)).toBe(`trigger ${mismatch.id}`);
  });
});
