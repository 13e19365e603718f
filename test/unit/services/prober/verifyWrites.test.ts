import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../../../lambdas/domain/events.js';
import type { ProbeAttempt, VipTarget, WriteProber } from '../../../../lambdas/domain/ports.js';
import { verifyWrites } from '../../../../lambdas/services/prober/verifyWrites.js';

const vip: VipTarget = { host: '10.0.0.50', port: 5000, database: 'postgres', user: 'probe', password: 'x', sslMode: 'disable' };
const trigger = makeEvent(
  { id: 'c:0000000002:000', cluster: 'c', observedAt: Date.now(), previousObservedAt: null },
  { type: 'no_leader', lastLeader: 'pg_node1', since: 0 },
);

/**
 * A VIP whose writes follow a script by attempt number (each attempt opens `fanout` writes): failing, then one
 * good attempt, failing again (HAProxy still balancing to the old leader), then good for good.
 */
function scriptedVip(script: (attempt: number) => boolean, fanout: number): WriteProber & { readonly writes: number } {
  let writes = 0;
  return {
    get writes() {
      return writes;
    },
    attempt: async (): Promise<ProbeAttempt> => {
      const attempt = Math.floor(writes++ / fanout);
      return script(attempt)
        ? { at: Date.now(), ok: true, servedBy: { address: '10.0.0.6', port: 5432, timeline: 3 } }
        : { at: Date.now(), ok: false, errorClass: 'refused', message: 'connect ECONNREFUSED' };
    },
  };
}

describe('Function: verifyWrites', () => {
  it('keeps writing through a flap after the first good write and reports the start of the final good run', async () => {
    // Prepare: attempts 0-2 fail, 3 works, 4-6 fail, 7 on work.
    const prober = scriptedVip((n) => n === 3 || n >= 7, 1);
    // Act
    const verdict = await verifyWrites(prober, vip, trigger, trigger.id, {
      intervalMs: 20,
      stabilityWindowMs: 200,
      deadlineMs: 5_000,
      fanout: 1,
    });
    // Assess
    if (verdict.type !== 'write_verified') throw new Error(`expected write_verified, got ${JSON.stringify(verdict)}`);
    expect(verdict.flapping).toEqual({ failedAttempts: 3, spanMs: expect.any(Number) });
    expect(Date.parse(verdict.restoredAt)).toBeGreaterThan(Date.parse(verdict.firstGoodWriteAt!));
    expect(verdict.outage.endedBefore).toBe(Date.parse(verdict.restoredAt));
    // It wrote on for the whole window after the restore, and stopped soon after (not at the deadline).
    const goodAfterRestore = verdict.attempts - 7;
    expect(goodAfterRestore).toBeGreaterThanOrEqual(200 / 20);
    expect(verdict.attempts).toBeLessThan(5_000 / 20);
  });

  it('stops at the deadline when writes are still failing, two writes an attempt', async () => {
    // Prepare: never works.
    const prober = scriptedVip(() => false, 2);
    // Act
    const verdict = await verifyWrites(prober, vip, trigger, trigger.id, {
      intervalMs: 20,
      stabilityWindowMs: 100,
      deadlineMs: 300,
      fanout: 2,
    });
    // Assess: attempts bounded by the deadline over the interval, two writes each.
    expect(verdict.type).toBe('write_unavailable');
    expect(verdict.attempts).toBeLessThanOrEqual(300 / 20 + 1);
    expect(prober.writes).toBe(verdict.attempts * 2);
  });

  it('gives writes that came back just before the deadline their whole stability window', async () => {
    // Prepare: failing for about 250 ms of a 300 ms deadline, then working.
    const startedAt = Date.now();
    const prober: WriteProber = {
      attempt: async (): Promise<ProbeAttempt> =>
        Date.now() - startedAt < 250 ? { at: Date.now(), ok: false, errorClass: 'refused' } : { at: Date.now(), ok: true },
    };
    // Act
    const verdict = await verifyWrites(prober, vip, trigger, trigger.id, {
      intervalMs: 20,
      stabilityWindowMs: 200,
      deadlineMs: 300,
      fanout: 1,
    });
    // Assess: verified, with good writes for the whole window after the deadline had passed.
    if (verdict.type !== 'write_verified') throw new Error(verdict.type);
    expect(Date.parse(verdict.restoredAt) - startedAt).toBeGreaterThanOrEqual(250);
    expect(verdict.attempts).toBeGreaterThan(300 / 20);
  });
});
