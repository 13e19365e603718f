// End to end on a real Patroni lab: from `/cluster` first showing the new leader (our own 100 ms poll) to the event
// in DynamoDB, to the alert leaving for SNS, to `write_verified`; the probe's restoredAt against an independent
// writer; and the same detection with a poller at 15 s, the best anchor's default, in the same run.
import { setTimeout as sleep } from 'node:timers/promises';
import { readClusterView, watchForNewLeader } from '../lab/cluster.js';
import { type FailoverMode, labFailover, labRejoin } from '../lab/faults.js';
import { labDown } from '../lab/lab.js';
import { waitFor } from '../lab/processes.js';
import { freshLab, type LabProfile, labHaproxyConfig, labOptions } from '../lab/profiles.js';
import { LAB_CREDENTIALS } from '../lab/templates.js';
import { IndependentWriter } from '../lab/writer.js';
import { PatroniHttp } from '../lambdas/adapters/patroni/http.js';
import { PatroniClient } from '../lambdas/adapters/patroni/PatroniClient.js';
import { validateConfig } from '../lambdas/config/config.js';
import type { ClusterState } from '../lambdas/domain/clusterState.js';
import type { ClusterEvent } from '../lambdas/domain/events.js';
import type { EventStore } from '../lambdas/domain/ports.js';
import { ClusterWatcher } from '../lambdas/services/poller/ClusterWatcher.js';
import { runPollLoop } from '../lambdas/services/poller/pollLoop.js';
import { emulatorTarget, startLocalAws } from '../local/emulator.js';
import { startLocalPipeline } from '../local/pipeline.js';

export interface EndToEndRow {
  readonly profile: LabProfile;
  readonly mode: FailoverMode;
  /** Event recorded minus `/cluster` first showing the new leader, 1 s poller. */
  readonly detection1sMs: number;
  /** The same for a poller at 15 s. */
  readonly detection15sMs: number;
  /** Alert handed to SNS minus event recorded. */
  readonly alertAfterEventMs: number;
  /** `write_verified.restoredAt` (writes back for good) minus the independent writer's first good write after its last failure. */
  readonly restoreErrorMs: number;
  readonly writerOutageS: number;
  /** Alerts sent for this failure, from its first event to its verdict. */
  readonly alertsSent: number;
}

const BASE = 30000;
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A poller at 15 s with an in-memory store: only its detection time matters here. */
function slowPoller(members: string[], onLeaderChanged: (at: number, to: string) => void, signal: AbortSignal) {
  let state: ClusterState | null = null;
  const store: EventStore = {
    loadState: async () => state,
    commit: async (_v, next, events) => {
      state = next;
      for (const e of events) if (e.type === 'leader_changed') onLeaderChanged(Date.now(), e.to);
    },
    listEvents: async () => ({ events: [] }),
    listAllEvents: async () => [],
  };
  const watcher = new ClusterWatcher({ name: 'slow', members }, {}, { observer: new PatroniClient(), store, clock: Date.now, log: quiet });
  return runPollLoop([watcher], { intervalMs: 15_000, deadline: Date.now() + 30 * 60_000, pollBudgetMs: 0, signal });
}

export async function endToEnd(profile: LabProfile): Promise<EndToEndRow[]> {
  const options = labOptions(profile, 4, BASE);
  const members = options.ports.restApi.map((p) => `http://127.0.0.1:${p}`);
  await freshLab(options);
  const aws = await startLocalAws();
  const recorded: { at: number; event: ClusterEvent }[] = [];
  const alerts: { at: number; eventId: string }[] = [];
  const slowChanges: { at: number; to: string }[] = [];
  const abort = new AbortController();
  const writer = new IndependentWriter(BASE);
  process.env.BENCH_VIP_PASSWORD = LAB_CREDENTIALS.superuser.password;
  const config = validateConfig({
    clusters: [
      {
        name: 'bench',
        members,
        vip: { host: '127.0.0.1', port: BASE, user: 'postgres', passwordEnv: 'BENCH_VIP_PASSWORD' },
        haproxy: labHaproxyConfig(options),
      },
    ],
    poll: { intervalSeconds: 1 },
    store: { tableName: `bench-events-${profile}` },
  });
  const pipeline = await startLocalPipeline({
    config,
    aws: emulatorTarget(aws, 'bench'),
    log: quiet,
    onRecorded: (event) => recorded.push({ at: Date.now(), event }),
    onAlert: (alert) => alerts.push({ at: Date.now(), eventId: alert.eventId }),
  });
  const slow = slowPoller(members, (at, to) => slowChanges.push({ at, to }), abort.signal);
  const http = new PatroniHttp({ timeoutMs: 1_000 });
  const rows: EndToEndRow[] = [];
  try {
    writer.start(600);
    await waitFor('the baseline', 20_000, 200, () => (recorded.length > 0 ? true : undefined));
    for (const mode of ['stop', 'kill', 'switchover'] as FailoverMode[]) {
      await sleep(16_000); // let the 15 s poller see the healthy cluster first
      const before = await readClusterView(options, http);
      const oldLeader = before!.members.find((m) => m.role === 'leader')!.name;
      const watching = watchForNewLeader(options, http, oldLeader, 1_200);
      const injectedAt = Date.now();
      const result = await labFailover(BASE, mode);
      const seen = await watching;
      if (!seen) throw new Error(`/cluster never showed a new leader after ${mode}`);
      const { at: firstSeen, leader: newLeader } = seen;
      const change = await waitFor('leader_changed', 60_000, 100, () =>
        recorded.find((r) => r.event.type === 'leader_changed' && r.event.to === newLeader && r.at >= injectedAt),
      );
      const verdict = await waitFor('write_verified', 120_000, 100, () =>
        recorded.find((r) => r.event.type === 'write_verified' && r.at >= injectedAt),
      );
      const alert = await waitFor('the alert', 30_000, 100, () => alerts.find((a) => a.eventId === change.event.id));
      const slowSeen = await waitFor('the 15 s poller', 40_000, 200, () =>
        slowChanges.find((c) => c.to === newLeader && c.at >= injectedAt),
      );
      await sleep(1_000);
      const outage = writer.outageAfter(injectedAt)!;
      const restoredAt = verdict.event.type === 'write_verified' ? Date.parse(verdict.event.restoredAt) : Number.NaN;
      rows.push({
        profile,
        mode,
        detection1sMs: change.at - firstSeen,
        detection15sMs: slowSeen.at - firstSeen,
        alertAfterEventMs: alert.at - change.at,
        restoreErrorMs: restoredAt - outage.end,
        writerOutageS: outage.seconds,
        alertsSent: alerts.filter((a) => a.at >= injectedAt).length,
      });
      process.stderr.write(`end to end, ${profile} profile: ${mode} done\n`);
      if (mode === 'stop' || mode === 'kill') await labRejoin(BASE, result.oldLeader);
    }
  } finally {
    abort.abort();
    await writer.stop();
    await slow;
    await pipeline.stop();
    await http.close();
    await aws.stop();
    await labDown(BASE);
  }
  return rows;
}
