// Runs on the client host of the VIP lab (in its network namespace), where the VIP is reachable: an independent
// writer every 100 ms as the yardstick, and, on the parent's word, the pipeline's own write probe or canary.
// argv[2]: JSON { vip: VipTarget }. Messages in: 'probe', 'canary', 'stop' (the writer), 'exit'. Messages out: { ready }, { verdict },
// { canary }, { writer }.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PgWriteProber, type VipTarget } from '../../lambdas/adapters/postgres/WriteProbe.js';
import type { ClusterEvent } from '../../lambdas/core/events.js';
import { runCanary } from '../../lambdas/notifier/canary.js';
import { verifyWrites } from '../../lambdas/notifier/verifyWrites.js';

const { vip } = JSON.parse(process.argv[2]!) as { vip: VipTarget };
const attempts: { at: number; ok: boolean }[] = [];
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let writing = true;

async function writeOnce(): Promise<boolean> {
  const client = new pg.Client({ host: vip.host, port: vip.port, database: vip.database, user: vip.user, password: vip.password, connectionTimeoutMillis: 2_000, query_timeout: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('CREATE TABLE IF NOT EXISTS lab_write_check (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())');
    await client.query('INSERT INTO lab_write_check DEFAULT VALUES');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The yardstick: a write every 100 ms whether or not the last finished, at most 40 in flight; bounded to 10 minutes. */
async function writer(): Promise<void> {
  const stopAt = Date.now() + 600_000;
  const inFlight = new Set<Promise<void>>();
  while (writing && Date.now() < stopAt) {
    const at = Date.now();
    if (inFlight.size < 40) {
      const write: Promise<void> = writeOnce().then((ok) => {
        attempts.push({ at, ok });
        inFlight.delete(write);
      });
      inFlight.add(write);
    }
    await sleep(Math.max(0, at + 100 - Date.now()));
  }
  await Promise.all([...inFlight]);
}

const trigger = { id: `vip-test:${Date.now()}`, cluster: 'vip', observedAt: Date.now(), type: 'canary_failed' } as ClusterEvent;
const writing$ = writer();
process.on('message', async (message: string) => {
  if (message === 'probe') {
    const verdict = await verifyWrites(new PgWriteProber(), vip, { ...trigger, observedAt: Date.now() }, trigger.id, { deadlineMs: 60_000, intervalMs: 250 });
    process.send!({ verdict });
  } else if (message === 'canary') {
    const recorded: ClusterEvent[] = [];
    await runCanary([{ cluster: 'vip', vip }], { prober: new PgWriteProber(), store: { recordEvent: async (e) => (recorded.push(e), true) }, log: quiet });
    process.send!({ canary: recorded });
  } else if (message === 'stop') {
    writing = false;
    await writing$;
    process.send!({ writer: attempts });
  } else if (message === 'exit') {
    process.exit(0);
  }
});
process.send!({ ready: true });
