import { describe, expect, it } from 'vitest';
import { severityOf } from '../../../../lambdas/domain/alerts.js';
import type { ClusterEvent } from '../../../../lambdas/domain/events.js';
import type { ProbeAttempt, VipTarget, WriteProber } from '../../../../lambdas/domain/ports.js';
import { isWriteLossEvidence } from '../../../../lambdas/domain/writeLoss.js';
import { runCanary } from '../../../../lambdas/services/prober/canary.js';

const vip = (port: number): VipTarget => ({
  host: '10.0.0.50',
  port,
  database: 'postgres',
  user: 'probe',
  password: 'x',
  sslMode: 'disable',
});
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe('Function: runCanary', () => {
  it('records nothing for a VIP that takes the write, and canary_failed for one that does not', async () => {
    // Prepare: port 5000 works, port 5001 refuses.
    const prober: WriteProber = {
      attempt: async (target): Promise<ProbeAttempt> =>
        target.port === 5000 ? { at: 1_000, ok: true } : { at: 1_000, ok: false, errorClass: 'refused', message: 'connect ECONNREFUSED' },
    };
    const recorded: ClusterEvent[] = [];
    // Act
    const result = await runCanary(
      [
        { cluster: 'fine', vip: vip(5000) },
        { cluster: 'broken', vip: vip(5001) },
      ],
      { prober, store: { recordEvent: async (e) => recorded.push(e) > 0 }, log: silent },
    );
    // Assess
    expect(result.checked).toBe(2);
    expect(recorded).toEqual([
      expect.objectContaining({
        id: 'broken:canary:1000',
        cluster: 'broken',
        type: 'canary_failed',
        vip: '10.0.0.50:5001',
        errorClass: 'refused',
      }),
    ]);
    expect(severityOf(recorded[0]!)).toBe('warning');
    expect(isWriteLossEvidence(recorded[0]!)).toBe(true);
  });
});
