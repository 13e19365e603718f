// The local poller's own thread (local/pollerThread.ts): started from the TypeScript sources as `failover watch`
// starts it, against the emulator and a loopback Patroni stand-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../lab/processes.js';
import { validateConfig } from '../../lambdas/config/config.js';
import type { ClusterEvent } from '../../lambdas/domain/events.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { PollerThreadError } from '../../local/errors.js';
import { startPollerThread } from '../../local/pollerThread.js';
import { FakeCluster } from '../support/fakeCluster.js';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe('The poller thread of local mode', () => {
  const cluster = new FakeCluster();
  let aws: LocalAws;

  beforeAll(async () => {
    aws = await startLocalAws();
    await cluster.start();
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
    await aws?.stop();
  });

  it('polls on its own thread: its events, log lines and AWS calls reach this one, and stop returns its summary', async () => {
    const config = validateConfig({
      clusters: [{ name: 'threaded', members: cluster.urls }],
      poll: { intervalSeconds: 1, timeoutMs: 1_000 },
      store: { tableName: 'thread-events' },
    });
    // No table yet: the thread's store creates it and warns, which is the log line this thread must hear.
    const recorded: ClusterEvent[] = [];
    const calls: string[] = [];
    const warnings: string[] = [];
    const log = { ...silent, warn: (message: string) => warnings.push(message) };
    const poller = await startPollerThread(
      { config, clientConfig: awsClientConfig(aws), intervalMs: 1_000, countAwsCalls: true },
      {
        log,
        onRecorded: (events) => recorded.push(...events),
        onOverrun: () => undefined,
        onAwsCall: (_c, command) => calls.push(command),
      },
    );
    await waitFor('the first event', 20_000, 100, () => (recorded.length > 0 ? true : undefined));
    const summary = await poller.stop();
    expect(recorded[0]).toMatchObject({ cluster: 'threaded', type: 'watch_started' });
    expect(calls).toContain('TransactWriteItemsCommand');
    expect(warnings).toEqual([expect.stringMatching(/^table thread-events was gone .*created it again/)]);
    expect(summary.polls).toBeGreaterThanOrEqual(1);
    expect(summary.events).toBe(recorded.length);
    expect(summary.unrecorded).toBe(0);
  });

  it("refuses to start with the poller's own message and exit code when its composition fails", async () => {
    const config = validateConfig({
      clusters: [{ name: 'locked', members: cluster.urls, patroni: { username: 'patroni', passwordEnv: 'POLLER_THREAD_TEST_UNSET' } }],
      store: { tableName: 'thread-events' },
    });
    delete process.env.POLLER_THREAD_TEST_UNSET;
    const starting = startPollerThread(
      { config, clientConfig: awsClientConfig(aws), intervalMs: 1_000, countAwsCalls: false },
      { log: silent, onRecorded: () => undefined, onOverrun: () => undefined },
    );
    await expect(starting).rejects.toThrow(PollerThreadError);
    await expect(starting).rejects.toThrow('clusters.locked.patroni: environment variable POLLER_THREAD_TEST_UNSET is not set');
    await expect(starting).rejects.toMatchObject({ exitCode: 1 });
  });
});
