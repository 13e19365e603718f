import { describe, expect, it } from 'vitest';
import { SAMPLE_HAPROXY_TIMINGS } from '../../../../lambdas/domain/anatomy.js';
import { type ClusterEvent, makeEvent } from '../../../../lambdas/domain/events.js';
import type { ProbeAttempt, VipTarget, WriteProber } from '../../../../lambdas/domain/ports.js';
import type { AnatomySources } from '../../../../lambdas/services/prober/anatomyEvidence.js';
import { runProbe } from '../../../../lambdas/services/prober/probe.js';

const vip: VipTarget = { host: '10.0.0.50', port: 5000, database: 'postgres', user: 'probe', password: 'x', sslMode: 'disable' };
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const now = Date.now();
const trigger = makeEvent(
  { id: 'c:0000000002:000', cluster: 'c', observedAt: now, previousObservedAt: now - 1_000, lastHealthyAt: now - 1_000 },
  { type: 'member_unreachable', member: 'pg_node1', url: 'http://10.0.0.4:8008', status: 'unreachable', error: 'refused', wasLeader: true },
);

/** The VIP fails for its first 5 attempts, then works; the leader's own PostgreSQL (port 5432) works from the start. */
function scripted(): WriteProber {
  let vipWrites = 0;
  return {
    attempt: async (target): Promise<ProbeAttempt> => {
      if (target.port === 5432) return { at: Date.now(), ok: true };
      return vipWrites++ < 10
        ? { at: Date.now(), ok: false, errorClass: 'refused', message: 'connect ECONNREFUSED' }
        : { at: Date.now(), ok: true, servedBy: { address: '10.0.0.5', port: 5432, timeline: 3 } };
    },
  };
}

function sources(overrides: Partial<AnatomySources> = {}): Omit<AnatomySources, 'prober' | 'clock'> {
  return {
    events: { listEvents: async () => ({ events: [trigger] }) },
    settings: { readSettings: async () => ({ ok: true, value: { ttl: 30, loopWait: 10 } }) },
    leader: { leaderAddress: async () => ({ ok: true, value: { member: 'pg_node2', host: '10.0.0.5', port: 5432 } }) },
    haproxyStats: { routingTo: async () => ({ ok: true, value: { upAt: Date.now(), server: 'pg_node2' } }) },
    ...overrides,
  };
}

async function probe(from: Omit<AnatomySources, 'prober' | 'clock'>, probeMembersDirectly = true): Promise<ClusterEvent> {
  const prober = scripted();
  const recorded: ClusterEvent[] = [];
  return runProbe(
    trigger,
    trigger.id,
    vip,
    {
      store: { recordEvent: async (e) => recorded.push(e) > 0 },
      prober,
      clock: Date.now,
      log: silent,
      anatomy: {
        context: {
          target: { name: 'c', members: ['http://10.0.0.4:8008'] },
          vip,
          probeMembersDirectly,
          statsUrl: 'http://10.0.0.10:7000/',
          haproxy: SAMPLE_HAPROXY_TIMINGS,
        },
        sources: { ...from, prober, clock: Date.now },
      },
    },
    { intervalMs: 10, stabilityWindowMs: 100, deadlineMs: 3_000, fanout: 2 },
  );
}

describe('Function: runProbe with the incident anatomy', () => {
  it('records the anatomy with every source observed: a direct write to the new leader, its HAProxy UP, the settings', async () => {
    const verdict = await probe(sources());
    if (verdict.type !== 'write_verified') throw new Error(verdict.type);
    const anatomy = verdict.anatomy!;
    expect(anatomy.milestones.filter((m) => m.at === null).map((m) => m.name)).toEqual(['lock_gone', 'promoted']);
    expect(anatomy.milestones.find((m) => m.name === 'writable_direct')!.evidence).toContain("pg_node2's own PostgreSQL (10.0.0.5:5432)");
    expect(anatomy.cause.kind).toBe('unreachable');
    expect(anatomy.settings).toEqual({ ttl: 30, loopWait: 10 });
  });

  it('marks what unreadable sources would have given as not observed, with the reason, and keeps the verdict', async () => {
    // Act: /config unreadable, HAProxy's stats an HTML page, the store's events unreadable, no direct writes allowed.
    const verdict = await probe(
      sources({
        settings: { readSettings: async () => ({ ok: false, note: '/config unreadable: http://10.0.0.4:8008/config answered HTTP 502' }) },
        haproxyStats: { routingTo: async () => ({ ok: false, note: 'HAProxy stats at http://10.0.0.10:7000/;csv answered HTML' }) },
        events: {
          listEvents: async () => {
            throw new Error('store down');
          },
        },
      }),
      false,
    );
    // Assess
    if (verdict.type !== 'write_verified') throw new Error(verdict.type);
    expect(verdict.outage.endedBefore).toBe(Date.parse(verdict.restoredAt));
    const anatomy = verdict.anatomy!;
    expect(anatomy.predicted).toBeNull();
    expect(anatomy.predictionNote).toBe('no prediction: /config unreadable: http://10.0.0.4:8008/config answered HTTP 502');
    expect(anatomy.milestones.find((m) => m.name === 'vip_routes')!.evidence).toBe(
      'not observed: HAProxy stats at http://10.0.0.10:7000/;csv answered HTML',
    );
    expect(anatomy.milestones.find((m) => m.name === 'writable_direct')!.evidence).toContain('vip.probeMembersDirectly is off');
    // The trigger alone still names the cause; the phases still add up.
    expect(anatomy.cause.kind).toBe('unreachable');
    expect(anatomy.phases.reduce((sum, p) => sum + p.durationMs, 0)).toBe(anatomy.outageMs);
  });
});
