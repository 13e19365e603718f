import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterView, watchForNewLeader } from '../../lab/cluster.js';
import { type FailoverMode, labFailover, labRejoin } from '../../lab/faults.js';
import { labDown } from '../../lab/lab.js';
import { waitFor } from '../../lab/processes.js';
import { fastLabOptions, freshLab } from '../../lab/profiles.js';
import { labStateExists } from '../../lab/state.js';
import type { LabOptions, PatroniMajor } from '../../lab/topology.js';
import { DynamoEventStore, ensureTable } from '../../lambdas/adapters/dynamodb/DynamoEventStore.js';
import { PatroniHttp } from '../../lambdas/adapters/patroni/http.js';
import { PatroniClient } from '../../lambdas/adapters/patroni/PatroniClient.js';
import type { ClusterEvent } from '../../lambdas/domain/events.js';
import { ClusterWatcher } from '../../lambdas/services/poller/ClusterWatcher.js';
import { runPollLoop } from '../../lambdas/services/poller/pollLoop.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { runFailover } from '../support/cli.js';
import { capturedLog } from '../support/logCapture.js';

const quietLog = capturedLog('pipeline-poller', (m, e) => console.error('POLLER ERROR', m, JSON.stringify(e)));

function memberUrls(options: LabOptions): string[] {
  return options.ports.restApi.map((port) => `http://127.0.0.1:${port}`);
}

type LeaderChanged = Extract<ClusterEvent, { type: 'leader_changed' }>;

describe.each([
  { patroni: 3 as PatroniMajor, basePort: 24000 },
  { patroni: 4 as PatroniMajor, basePort: 25000 },
])('Poller on a real Patroni $patroni lab', ({ patroni, basePort }) => {
  const options = fastLabOptions(patroni, basePort);
  const cluster = `lab${patroni}`;
  const target = { name: cluster, members: memberUrls(options) };
  let aws: LocalAws;
  let store: DynamoEventStore;
  let tableName: string;

  async function allEvents(): Promise<ClusterEvent[]> {
    const events: ClusterEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listEvents(cluster, { cursor });
      events.push(...page.events);
      cursor = page.cursor;
    } while (cursor);
    return events;
  }

  beforeAll(async () => {
    aws = await startLocalAws();
    tableName = `events-${patroni}`;
    const client = new DynamoDBClient(awsClientConfig(aws));
    await ensureTable(client, tableName);
    store = new DynamoEventStore({ tableName, client });
    await freshLab(options);
  });

  afterAll(async () => {
    if (labStateExists(basePort)) await labDown(basePort);
    await aws?.stop();
  });

  it('records each failure mode as exactly one leader_changed, with two pollers racing, and no duplicate', async () => {
    // Prepare: two independent pollers on the same cluster and table, as two overlapping Lambda invocations.
    const abort = new AbortController();
    const pollers = [0, 1].map(() => {
      const watcher = new ClusterWatcher(
        target,
        { scope: 'denemek' },
        { observer: new PatroniClient(), store, clock: Date.now, log: quietLog },
      );
      return runPollLoop([watcher], { intervalMs: 1_000, deadline: Date.now() + 600_000, pollBudgetMs: 0, signal: abort.signal });
    });
    await waitFor('the baseline', 10_000, 200, async () =>
      (await allEvents()).some((e) => e.type === 'watch_started') ? true : undefined,
    );
    const modes: FailoverMode[] = ['stop', 'kill', 'switchover', 'failover'];
    const results = [];
    try {
      for (const mode of modes) {
        // Act
        const result = await labFailover(basePort, mode);
        results.push(result);
        const change = await waitFor(`leader_changed to ${result.newLeader}`, 30_000, 250, async () =>
          (await allEvents()).find(
            (e): e is LeaderChanged => e.type === 'leader_changed' && e.to === result.newLeader && e.oldTimeline === result.oldTimeline,
          ),
        );
        // Assess, per mode: the right sides, timelines and kind.
        expect(change).toMatchObject({ from: result.oldLeader, to: result.newLeader, oldTimeline: result.oldTimeline });
        expect(change.kind).toBe(mode === 'stop' || mode === 'kill' ? 'failover' : 'switchover');
        if (mode === 'stop' || mode === 'kill') await labRejoin(basePort, result.oldLeader);
      }
      await sleep(2_000);
    } finally {
      abort.abort();
      await Promise.all(pollers);
    }
    const events = await allEvents();
    const changes = events.filter((e): e is LeaderChanged => e.type === 'leader_changed');
    // Exactly one per failover, in order, each with its new timeline (here or in the timeline_changed that followed).
    expect(changes.map((e) => [e.from, e.to])).toEqual(results.map((r) => [r.oldLeader, r.newLeader]));
    for (const result of results) {
      const timelineChange = events.find((e) => e.type === 'timeline_changed' && e.to === result.newTimeline);
      expect(timelineChange, `timeline_changed to ${result.newTimeline}`).toBeDefined();
      // The new leader's own role change, and the old leader seen leaving the primary role or going away.
      expect(events.some((e) => e.type === 'member_role_changed' && e.member === result.newLeader && e.to === 'primary')).toBe(true);
      expect(
        events.some(
          (e) =>
            (e.type === 'member_unreachable' && e.member === result.oldLeader) ||
            (e.type === 'member_role_changed' && e.member === result.oldLeader && e.from === 'primary'),
        ),
      ).toBe(true);
    }
    // No duplicate: unique ids, and no transition recorded twice under two ids.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const fingerprints = events.map(({ id: _id, observedAt: _o, previousObservedAt: _p, ...rest }) => JSON.stringify(rest));
    const repeatedLeaderChanges = changes.length - new Set(changes.map((e) => `${e.from}>${e.to}@${e.oldTimeline}`)).size;
    expect(repeatedLeaderChanges).toBe(0);
    expect(fingerprints.filter((f) => f.includes('"watch_started"'))).toHaveLength(1);
    // Every leader change matches a promotion in Patroni's own /history.
    const http = new PatroniHttp();
    const history = await waitFor('/history to list every promotion', 20_000, 500, async () => {
      const reply = await http.getJson(`${target.members[0]}/history`);
      const rows = reply.ok ? (reply.body as unknown[][]) : [];
      return rows.length >= results.length ? rows : undefined;
    });
    await http.close();
    for (const change of changes) {
      expect(history.some((row) => row[4] === change.to)).toBe(true);
    }
  });

  it('reconciles two promotions between two polls from /history', async () => {
    // Prepare
    const watcher = new ClusterWatcher(
      target,
      { scope: 'denemek' },
      { observer: new PatroniClient(), store, clock: Date.now, log: quietLog },
    );
    await watcher.pollOnce();
    const before = watcher.current!;
    // Act: two switchovers with no poll in between.
    const first = await labFailover(basePort, 'switchover');
    const second = await labFailover(basePort, 'switchover');
    const outcome = await watcher.pollOnce();
    // Assess
    const changes = outcome.events.filter((e): e is LeaderChanged => e.type === 'leader_changed');
    expect(changes.map((e) => [e.from, e.to, e.reconciled])).toEqual([
      [first.oldLeader, first.newLeader, true],
      [second.oldLeader, second.newLeader, false],
    ]);
    expect(changes[0]!.happenedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(outcome.events.find((e) => e.type === 'timeline_changed')).toMatchObject({
      from: before.timeline,
      to: second.newTimeline,
      missedPromotions: 1,
    });
  });

  it('`failover watch --json` prints the leader_changed within one poll interval (+0.5 s) of /cluster showing the new leader', async () => {
    // Prepare
    const configFile = join(tmpdir(), `watch-${patroni}.json`);
    writeFileSync(configFile, JSON.stringify({ clusters: [{ name: `${cluster}-watch`, members: target.members }], store: { tableName } }));
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '..', '..', 'bin', 'failover.mjs'),
        'watch',
        '--config',
        configFile,
        '--json',
        '--interval',
        '1',
        '--duration',
        '60',
      ],
      {
        env: { ...process.env, AWS_ENDPOINT_URL: aws.endpoint },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const printed: { at: number; event: ClusterEvent }[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => printed.push({ at: Date.now(), event: JSON.parse(line) }));
    await waitFor('watch to print its baseline', 20_000, 100, () => (printed.length > 0 ? true : undefined));
    const http = new PatroniHttp({ timeoutMs: 1_000 });
    const before = await readClusterView(options, http);
    const oldLeader = before!.members.find((m) => m.role === 'leader')!.name;
    // Act: our own /cluster poll every 100 ms notes when the new leader first shows.
    const watching = watchForNewLeader(options, http, oldLeader);
    await labFailover(basePort, 'switchover');
    const seen = await watching;
    expect(seen, '/cluster showed a new leader').not.toBeNull();
    const { at: firstSeenAt, leader: newLeader } = seen!;
    const line = await waitFor('the printed leader_changed', 10_000, 50, () =>
      printed.find((p) => p.event.type === 'leader_changed' && p.event.to === newLeader),
    );
    child.kill('SIGINT');
    await http.close();
    // Assess
    expect(line.event).toMatchObject({ cluster: `${cluster}-watch`, type: 'leader_changed', from: oldLeader, to: newLeader });
    expect(line.at - firstSeenAt).toBeLessThanOrEqual(1_500);
    console.info(`Patroni ${patroni}: watch printed leader_changed ${line.at - firstSeenAt} ms after /cluster first showed ${newLeader}`);
    // And `failover history` reads back what watch printed, oldest first, in the same JSON shape.
    const history = await runFailover(['history', '--cluster', `${cluster}-watch`, '--table', tableName, '--json'], 60_000, {
      ...process.env,
      AWS_ENDPOINT_URL: aws.endpoint,
    });
    expect(history.code).toBe(0);
    const recordedEvents = history.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ClusterEvent);
    expect(recordedEvents.map((e) => e.id)).toEqual(expect.arrayContaining(printed.map((p) => p.event.id)));
    expect(recordedEvents.find((e) => e.id === line.event.id)).toEqual(line.event);
    expect(recordedEvents.map((e) => e.observedAt)).toEqual([...recordedEvents.map((e) => e.observedAt)].sort((a, b) => a - b));
  });
});
