import { describe, expect, it } from 'vitest';
import { detect } from '../../../../lambdas/domain/detector.js';
import { type ClusterEvent, makeEvent } from '../../../../lambdas/domain/events.js';
import { Notifier } from '../../../../lambdas/services/notifier/Notifier.js';
import { failed, healthy, observation, primary, replica, view } from '../../../support/factories.js';
import { memoryIdempotency, memoryNotifierStore, NO_STORMS } from '../../../support/notifierFakes.js';

const first = detect(null, healthy(1_000, 'pg_node1', 3));
const failover = detect(
  first.state,
  observation(2_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4)),
);
const leaderChanged = failover.events.find((e) => e.type === 'leader_changed')!;

/** An in-memory notifier state and idempotency store, as DynamoDB keeps them between deliveries. */
function fakes() {
  return { store: memoryNotifierStore(), idempotent: memoryIdempotency() };
}

describe('Class: Notifier', () => {
  it('starts the write probe even while SNS fails, and only once over the redeliveries', async () => {
    // Prepare: SNS fails twice, then works.
    const { store, idempotent } = fakes();
    let snsFailures = 2;
    const published: string[] = [];
    const launched: ClusterEvent[] = [];
    const notifier = new Notifier({
      store,
      channels: {
        sns: {
          publishStorm: NO_STORMS,
          publish: async (alert) => {
            if (snsFailures-- > 0) throw new Error('SNS: Service Unavailable');
            published.push(alert.eventId);
            return 'message-id';
          },
        },
      },
      idempotent,
      probes: { launch: async (trigger) => void launched.push(trigger) },
      clock: () => 3_000,
      log: { debug() {}, info() {}, warn() {}, error() {} },
    });
    // Act: the stream delivers the record until the handler succeeds.
    const outcomes: string[] = [];
    const probesAfterEachDelivery: number[] = [];
    for (let delivery = 0; delivery < 3; delivery++) {
      outcomes.push(
        await notifier.handle(leaderChanged).then(
          () => 'ok',
          (error: Error) => error.message,
        ),
      );
      probesAfterEachDelivery.push(launched.length);
    }
    // Assess
    expect(outcomes).toEqual(['SNS: Service Unavailable', 'SNS: Service Unavailable', 'ok']);
    expect(probesAfterEachDelivery).toEqual([1, 1, 1]);
    expect(launched.map((e) => e.id)).toEqual([leaderChanged.id]);
    expect(published).toEqual([leaderChanged.id]);
  });

  it('reports an alert once although two notifiers (or a redelivery) handle its record', async () => {
    // Prepare: two notifiers sharing the idempotency records, as two stream readers on one table would.
    const { store, idempotent } = fakes();
    const published: string[] = [];
    const reported: string[] = [];
    const make = () =>
      new Notifier({
        store,
        channels: {
          sns: {
            publishStorm: NO_STORMS,
            publish: async (alert) => {
              published.push(alert.eventId);
              return 'message-id';
            },
          },
        },
        idempotent,
        probes: null,
        clock: () => 3_000,
        log: { debug() {}, info() {}, warn() {}, error() {} },
        onAlert: (alert) => reported.push(alert.eventId),
      });
    // Act
    await make().handle(leaderChanged);
    await make().handle(leaderChanged);
    // Assess
    expect(published).toEqual([leaderChanged.id]);
    expect(reported).toEqual([leaderChanged.id]);
  });
  it('takes a timeline confirmed seconds after writes were verified as the tail of that incident: no new incident, no probe', async () => {
    // Prepare: the failover's incident was probed and verified at 4 s.
    const { store, idempotent } = fakes();
    const launched: ClusterEvent[] = [];
    const notifier = new Notifier({
      store,
      channels: {},
      idempotent,
      probes: { launch: async (trigger) => void launched.push(trigger) },
      clock: () => 10_000,
      log: { debug() {}, info() {}, warn() {}, error() {} },
    });
    await notifier.handle(leaderChanged);
    const verified = makeEvent(
      { id: `${leaderChanged.id}/probe`, cluster: 'denemek', observedAt: 4_500, previousObservedAt: 2_000 },
      {
        type: 'write_verified',
        trigger: { id: leaderChanged.id, type: 'leader_changed' },
        incident: leaderChanged.id,
        restoredAt: new Date(4_000).toISOString(),
        stableSince: new Date(4_000).toISOString(),
        attempts: 8,
        errors: {},
        servedBy: { address: '10.0.0.5', port: 5432, timeline: 4 },
        outage: {
          startedAfter: 1_000,
          startedBefore: 2_000,
          endedAfter: 3_750,
          endedBefore: 4_000,
          downtimeMinMs: 1_500,
          downtimeMaxMs: 3_000,
        },
      },
    );
    await notifier.handle(verified);
    // Act: the timeline is confirmed by a second source only at 9 s (Patroni's member key lagged).
    const late = makeEvent(
      { id: 'denemek:0000000003:000', cluster: 'denemek', observedAt: 9_000, previousObservedAt: 8_000 },
      { type: 'timeline_changed', from: 3, to: 4, leader: 'pg_node2', missedPromotions: 0 },
    );
    await notifier.handle(late);
    // Assess
    expect(launched.map((e) => e.id)).toEqual([leaderChanged.id]);
    expect((await store.loadNotifierState('denemek')).openIncident).toBeNull();
  });
});
