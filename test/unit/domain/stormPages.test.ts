import { describe, expect, it } from 'vitest';
import { commonCause, EMPTY_FLEET_STATE, registerOpening, type Storm } from '../../../lambdas/domain/storm.js';
import { type StormPage, stormEmail, stormPagerDuty, stormSlackMessage, stormSms } from '../../../lambdas/domain/stormPages.js';

/** A storm of `size` clusters, every tenth outside eu-west-1a. */
function page(size: number, action: StormPage['action'] = 'open'): StormPage {
  let fleet = EMPTY_FLEET_STATE;
  for (let i = 0; i < size; i++) {
    fleet = registerOpening(
      fleet,
      { cluster: `orders-db-${i}`, incidentKey: `orders-db-${i}:7`, at: 1_000 + i, kind: 'leader_changed failover' },
      { clusters: 5, windowMs: 60_000 },
    ).fleet;
  }
  const storm = fleet.storm as Storm;
  const cause = commonCause(storm, (c) => ({ az: Number(c.split('-').at(-1)) % 10 === 9 ? 'eu-west-1b' : 'eu-west-1a' }));
  return { storm, cause, action, runbook: 'https://wiki.example.com/runbooks/storm.md' };
}

describe('Storm pages', () => {
  it.each([5, 50, 1_000])('the SMS of a storm of %i clusters is one part naming the count and the shared zone', (size) => {
    const sms = stormSms(page(size));
    expect(sms.length).toBeLessThanOrEqual(140);
    expect(sms).toMatch(new RegExp(`^STORM ${size} clusters failing over \\(${size} open\\): `));
    expect(sms).toContain('in az=eu-west-1a');
    expect(sms).toMatch(/^[\x20-\x7e]+$/);
  });

  it('the Slack parent has a header, the cause, and at most 30 names with the rest counted', () => {
    const message = stormSlackMessage(page(50));
    const [header, cause, fields] = message.blocks as { text?: { text: string }; fields?: { text: string }[] }[];
    expect(header!.text!.text).toBe('STORM 50 clusters failing over (50 open)');
    expect(cause!.text!.text).toContain('45 of 50 in az=eu-west-1a');
    expect(fields!.fields![2]!.text).toMatch(/and 20 more$/);
  });

  it('a cluster with a second incident in the storm is counted once, and resolved once both are', () => {
    const { storm, cause, runbook } = page(6);
    const again = registerOpening(
      { ...EMPTY_FLEET_STATE, storm },
      { cluster: 'orders-db-2', incidentKey: 'orders-db-2:8', at: 2_000, kind: 'no_leader' },
      { clusters: 5, windowMs: 60_000 },
    ).storm as Storm;
    const members = again.members.map((m) => (m.incidentKey === 'orders-db-2:7' ? { ...m, status: 'resolved' as const } : m));
    const message = stormSlackMessage({ storm: { ...again, members }, cause, action: 'update', runbook });
    const [header, , fields] = message.blocks as { text?: { text: string }; fields?: { text: string }[] }[];
    expect(header!.text!.text).toBe('STORM 6 clusters failing over (6 open)');
    expect(fields!.fields![0]!.text).toBe('*Clusters*\n6: 0 resolved, 0 escalated');
    expect(fields!.fields![2]!.text).not.toContain('(resolved)');
    expect(stormEmail({ storm: again, cause, action: 'update', runbook })).toContain('orders-db-2  open  no_leader  orders-db-2:8');
  });

  it('the email lists every member with its state and incident key', () => {
    const email = stormEmail(page(12));
    for (let i = 0; i < 12; i++) expect(email).toContain(`orders-db-${i}  open  leader_changed failover  orders-db-${i}:7`);
  });

  it('PagerDuty: a trigger on the storm key in its own group, and a resolve on the same key; an update sends nothing', () => {
    const open = stormPagerDuty(page(8));
    const storm = page(8).storm;
    expect(open).toMatchObject({
      endpoint: 'enqueue',
      body: {
        event_action: 'trigger',
        dedup_key: storm.key,
        payload: { group: storm.key, class: 'storm', severity: 'critical', source: 'fleet' },
      },
    });
    expect(stormPagerDuty(page(8, 'resolve'))).toEqual({ endpoint: 'enqueue', body: { event_action: 'resolve', dedup_key: storm.key } });
    expect(stormPagerDuty(page(8, 'update'))).toBeNull();
  });
});
