import { describe, expect, it } from 'vitest';
import type { ProbeRequest } from '../../../lambdas/domain/ports.js';
import { LocalProbes } from '../../../local/probePool.js';
import { makeTestEvent } from '../../support/factories.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };

describe('Class: LocalProbes', () => {
  it('runs at most `size` probes at once, the rest in the order they were launched, and drains them all', async () => {
    // Prepare: probes that finish only when told to.
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    let running = 0;
    let most = 0;
    const probes = new LocalProbes(
      (request: ProbeRequest) =>
        new Promise<void>((resolve) => {
          started.push(request.incidentKey);
          running++;
          most = Math.max(most, running);
          finish.set(request.incidentKey, () => {
            running--;
            resolve();
          });
        }),
      log,
      2,
    );
    const trigger = makeTestEvent({ type: 'no_leader', lastLeader: 'pg_node1', since: null } as never, 1_000);
    // Act: a storm launches five.
    for (const key of ['a', 'b', 'c', 'd', 'e']) await probes.launch(trigger, key);
    expect(started).toEqual(['a', 'b']);
    finish.get('b')!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['a', 'b', 'c']);
    const drained = probes.drain();
    for (const key of ['a', 'c']) finish.get(key)!();
    await new Promise((resolve) => setImmediate(resolve));
    for (const key of ['d', 'e']) finish.get(key)!();
    await drained;
    // Assess
    expect(started).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(most).toBe(2);
  });

  it('goes on with the next probe when one fails', async () => {
    const ran: string[] = [];
    const probes = new LocalProbes(
      async (request: ProbeRequest) => {
        ran.push(request.incidentKey);
        if (request.incidentKey === 'a') throw new Error('VIP refused');
      },
      log,
      1,
    );
    const trigger = makeTestEvent({ type: 'no_leader', lastLeader: 'pg_node1', since: null } as never, 1_000);
    await probes.launch(trigger, 'a');
    await probes.launch(trigger, 'b');
    await probes.drain();
    expect(ran).toEqual(['a', 'b']);
  });
});
