// Runs on the client host of the VIP lab (in its network namespace), where the VIP is reachable: an independent
// writer every 100 ms as the yardstick, and, on the parent's word, the pipeline's own write probe or canary.
// argv[2]: JSON { vip: VipTarget, stabilityWindowMs: number }. Messages in: 'probe', 'canary', 'stop' (the writer), 'exit'. Messages out: { ready }, { verdict },
// { canary }, { writer }.

import { IndependentWriter } from '../../lab/writer.js';
import { PgWriteProber } from '../../lambdas/adapters/postgres/PgWriteProber.js';
import type { ClusterEvent } from '../../lambdas/domain/events.js';
import type { VipTarget } from '../../lambdas/domain/ports.js';
import { runCanary } from '../../lambdas/services/prober/canary.js';
import { verifyWrites } from '../../lambdas/services/prober/verifyWrites.js';

const { vip, stabilityWindowMs } = JSON.parse(process.argv[2]!) as { vip: VipTarget; stabilityWindowMs: number };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
// The yardstick: the same independent writer as every other scenario's, here through the VIP.
const writer = new IndependentWriter(vip.port, vip.host);
writer.start(600);

const trigger = { id: `vip-test:${Date.now()}`, cluster: 'vip', observedAt: Date.now(), type: 'canary_failed' } as ClusterEvent;
process.on('message', async (message: string) => {
  if (message === 'probe') {
    const verdict = await verifyWrites(new PgWriteProber(), vip, { ...trigger, observedAt: Date.now() }, trigger.id, {
      deadlineMs: 60_000,
      stabilityWindowMs,
    });
    process.send!({ verdict });
  } else if (message === 'canary') {
    const recorded: ClusterEvent[] = [];
    await runCanary([{ cluster: 'vip', vip }], {
      prober: new PgWriteProber(),
      store: { recordEvent: async (e) => recorded.push(e) > 0 },
      log: quiet,
    });
    process.send!({ canary: recorded });
  } else if (message === 'stop') {
    await writer.stop();
    process.send!({ writer: writer.attempts });
  } else if (message === 'exit') {
    process.exit(0);
  }
});
process.send!({ ready: true });
