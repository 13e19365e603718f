import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PagerDutyEvents } from '../../lambdas/adapters/pagerduty/PagerDutyEvents.js';
import { pagerDutyTarget } from '../../lambdas/adapters/pagerduty/routingKey.js';
import { buildAlert } from '../../lambdas/domain/alerts.js';
import { DeliveryError } from '../../lambdas/domain/errors.js';
import type { PageIncident } from '../../lambdas/domain/pageLifecycle.js';
import { pagerDutyRequest } from '../../lambdas/domain/pagerduty.js';
import { leaderChangedEvent } from '../support/factories.js';
import { PagerDutyStandIn } from '../support/standIns.js';

const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefABCDEF';
const alert = buildAlert(
  leaderChangedEvent({ id: 'denemek:0000000004:000', cluster: 'denemek', observedAt: 5_000, previousObservedAt: 4_000 }),
  {
    runbookBaseUrl: 'https://wiki.example.com/runbooks',
  },
)!;
const incident = { key: 'denemek:0000000003:000', paged: true, severity: 'warning' } as PageIncident;

/** The adapter against a loopback server that answers as PagerDuty's Events API v2 does. */
describe('PagerDutyEvents against an Events API v2 stand-in', () => {
  const pagerduty = new PagerDutyStandIn(ROUTING_KEY);
  let eventsUrl: string;
  const waits: number[] = [];
  const client = (routingKey = ROUTING_KEY, keySource = 'environment variable PD_KEY') =>
    new PagerDutyEvents({ routingKey, keySource, eventsUrl }, { wait: async (ms) => void waits.push(ms), policy: { baseDelayMs: 10 } });

  beforeAll(async () => {
    eventsUrl = await pagerduty.start();
  });
  afterAll(async () => pagerduty.stop());
  beforeEach(() => {
    pagerduty.accepted.length = 0;
    waits.length = 0;
  });

  it('triggers and resolves on the incident key, and sends changes to /v2/change/enqueue on the same origin', async () => {
    await client().send(pagerDutyRequest({ action: 'open', incident }, alert)!);
    await client().send(pagerDutyRequest({ action: 'resolve', incident }, alert)!);
    await client().send(pagerDutyRequest({ action: 'change', incident: { ...incident, planned: true, paged: false } }, alert)!);
    expect(pagerduty.actions()).toEqual([`trigger ${incident.key}`, `resolve ${incident.key}`, 'change denemek']);
    const [trigger] = pagerduty.accepted;
    expect(trigger!.body.payload).toMatchObject({ source: 'denemek', severity: 'warning', class: 'leader_changed' });
    expect(trigger!.body.payload!.summary).toMatch(/^\[WARNING\] denemek: leader pg_node1 → pg_node2/);
    expect(trigger!.body.links).toEqual([{ href: 'https://wiki.example.com/runbooks/leader_changed.md', text: 'Runbook: leader_changed' }]);
    expect(trigger!.body.payload!.custom_details).toMatchObject({ event: { id: alert.eventId }, incident: { key: incident.key } });
  });

  it('waits for Retry-After on a 429 and backs off on a 5xx, then delivers once', async () => {
    pagerduty.retryAfterSeconds = 2;
    pagerduty.failures = [429, 502];
    const { attempts } = await client().send(pagerDutyRequest({ action: 'open', incident }, alert)!);
    expect(attempts).toBe(3);
    expect(waits).toEqual([2_000, 20]);
    expect(pagerduty.actions()).toEqual([`trigger ${incident.key}`]);
  });

  it('fails at once on a 400 (a routing key PagerDuty does not know), naming where the key came from, never the key', async () => {
    const wrong = 'WRONGKEY0123456789abcdefABCDEF99';
    const error = await client(wrong, 'secret failover/pagerduty')
      .send(pagerDutyRequest({ action: 'open', incident }, alert)!)
      .catch((e) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain('check the routing key in secret failover/pagerduty');
    expect(error.message).not.toContain(wrong);
    expect(waits).toEqual([]);
    expect(pagerduty.accepted).toEqual([]);
  });

  it('refuses a missing or malformed routing key at start, by its source', async () => {
    await expect(pagerDutyTarget({ routingKeyEnv: 'PD_KEY' }, {})).rejects.toThrow('environment variable PD_KEY is not set');
    await expect(pagerDutyTarget({ routingKeyEnv: 'PD_KEY' }, { PD_KEY: 'not a key!' })).rejects.toThrow(
      'environment variable PD_KEY does not hold an Events API v2 integration key',
    );
    await expect(pagerDutyTarget({ routingKeyEnv: 'PD_KEY' }, { PD_KEY: 'not a key!' })).rejects.not.toThrow('not a key!');
    expect(await pagerDutyTarget({ routingKeyEnv: 'PD_KEY', eventsUrl }, { PD_KEY: ROUTING_KEY })).toEqual({
      routingKey: ROUTING_KEY,
      keySource: 'environment variable PD_KEY',
      eventsUrl,
    });
  });
});
