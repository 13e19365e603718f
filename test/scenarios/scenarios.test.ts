// The scenario suite (`npm run test:scenarios`): real failures of a real Patroni lab, faults in our own path,
// on Patroni 3 and 4, and the main failures again on the field timing profile. Each scenario asserts the events it must leave in the audit trail, in order, cross-checks
// every leader_changed against the rows Patroni added to /history, checks that every alert left exactly once,
// and where writes were lost compares the probe's measurement with an independent writer. The results are
// written to docs/scenarios.md.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labFailover, labKillPostgres, labRejoin, labSetPaused, labStartEtcd, labStopEtcd, labStopMember } from '../../lab/faults.js';
import { labDown } from '../../lab/lab.js';
import { waitFor } from '../../lab/processes.js';
import { freshLab } from '../../lab/profiles.js';
import { MEMBER_NAMES, type PatroniMajor } from '../../lab/topology.js';
import { severityOf } from '../../lambdas/domain/alerts.js';
import { type ClusterEvent, EVENT_TYPES, READINESS_EVENT_TYPES } from '../../lambdas/domain/events.js';
import { describeEvent, ScenarioLab } from './harness.js';
import { scenarioKit } from './judge.js';
import { writeScenarioReport } from './report.js';

type WriteVerified = Extract<ClusterEvent, { type: 'write_verified' }>;

/** The events a scenario is judged on, in order; member-level detail is shown but judged by each scenario. */
// `redundancy_restored` comes whenever the old leader rejoins, which each scenario does in its own time; readiness
// findings (a DCS gone for longer than ttl - loop_wait, replicas restarting) come with the failure's own timing.
const CLUSTER_LEVEL = new Set<ClusterEvent['type']>(
  EVENT_TYPES.filter(
    (type) =>
      type !== 'watch_started' && type !== 'redundancy_restored' && !type.startsWith('member_') && !READINESS_EVENT_TYPES.includes(type),
  ),
);

const clusterLevel = (events: ClusterEvent[]) => events.filter((e) => CLUSTER_LEVEL.has(e.type)).map(describeEvent);
const has = (events: ClusterEvent[], type: ClusterEvent['type']) => events.some((e) => e.type === type);
/** One leader change matching `leaderChange`, its timeline, and writes verified: a hand-over, in that order. */
const handedOver = (leaderChange: RegExp) => [
  expect.stringMatching(leaderChange),
  expect.stringMatching(/^timeline_changed/),
  'write_verified',
];

/**
 * The failures every timing profile must get right: stop, kill -9, switchover, PostgreSQL crash, etcd down. The
 * probe's restore time against the writer's, and the anatomy's cause, are judged for each.
 */
function profileScenarios(lab: ScenarioLab, scenario: ReturnType<typeof scenarioKit>['scenario']): void {
  it('switchover', async () => {
    const leader = await lab.leader();
    await scenario(
      'switchover',
      'leader_changed (switchover), timeline_changed, write_verified',
      async () => void (await labFailover(lab.base, 'switchover')),
      (events) => has(events, 'write_verified'),
      (w) => {
        expect(clusterLevel(w.events)).toEqual(handedOver(new RegExp(`^leader_changed ${leader}→pg_node\\d switchover$`)));
      },
      { restoredLikeTheWriter: true, cause: 'planned' },
    );
  });

  let stoppedLeader = '';
  it('leader graceful stop', async () => {
    stoppedLeader = await lab.leader();
    await scenario(
      'leader graceful stop',
      'leader_changed (failover), timeline_changed, write_verified; the old leader unreachable',
      async () => void (await labFailover(lab.base, 'stop')),
      (events) => has(events, 'write_verified'),
      (w) => {
        expect(clusterLevel(w.events)).toEqual(handedOver(new RegExp(`^leader_changed ${stoppedLeader}→pg_node\\d failover$`)));
        expect(w.events.filter((e) => e.type === 'member_unreachable').map(describeEvent)).toEqual([`member_unreachable ${stoppedLeader}`]);
      },
      { restoredLikeTheWriter: true, cause: 'unreachable' },
    );
  });

  it('the old leader rejoins', async () => {
    await scenario(
      'the old leader rejoins',
      'member_reachable and its role back as a replica; no leader change, no probe',
      () => labRejoin(lab.base, stoppedLeader),
      (events) => events.some((e) => e.type === 'member_reachable'),
      (w) => {
        expect(clusterLevel(w.events)).toEqual([]);
        expect(w.events.filter((e) => e.type === 'member_reachable').map(describeEvent)).toEqual([`member_reachable ${stoppedLeader}`]);
      },
    );
  });

  it('leader kill -9', async () => {
    const leader = await lab.leader();
    await scenario(
      'leader kill -9',
      'leader_changed (failover) after the leader key expires, timeline_changed, write_verified',
      async () => void (await labFailover(lab.base, 'kill')),
      (events) => has(events, 'write_verified'),
      (w) => {
        expect(clusterLevel(w.events)).toEqual(handedOver(new RegExp(`^leader_changed ${leader}→pg_node\\d failover$`)));
        const verified = w.events.find((e): e is WriteVerified => e.type === 'write_verified')!;
        expect(verified.anatomy?.phases.find((p) => p.name === 'leader_key')?.label).toBe(
          `waiting for the leader key to expire (ttl ${lab.options.timings.ttl})`,
        );
      },
      { restoredLikeTheWriter: true, cause: 'unreachable' },
    );
    await labRejoin(lab.base, leader);
  });

  it('PostgreSQL-only crash on the leader', async () => {
    const leader = await lab.leader();
    // primary_start_timeout 0 (fast): Patroni fails over at once. 300 (field, Patroni's default): it restarts
    // PostgreSQL in place, and only the probe sees the outage.
    const failsOver = lab.options.timings.primaryStartTimeout === 0;
    await scenario(
      'PostgreSQL-only crash on the leader',
      failsOver
        ? 'leader_changed (failover), timeline_changed, write_verified (primary_start_timeout 0)'
        : "the leader's PostgreSQL down, restarted in place by Patroni (primary_start_timeout 300); write_verified",
      async () => void (await labFailover(lab.base, 'crash')),
      (events) => has(events, 'write_verified'),
      (w) => {
        if (failsOver) {
          expect(clusterLevel(w.events)).toEqual(handedOver(new RegExp(`^leader_changed ${leader}→pg_node\\d failover$`)));
        } else {
          expect(clusterLevel(w.events).at(-1)).toBe('write_verified');
          expect(w.events.some((e) => e.type === 'member_state_changed' && e.member === leader && e.to !== 'running')).toBe(true);
        }
      },
      { cause: 'postgres_crashed' },
    );
    await labRejoin(lab.base, leader).catch(() => undefined);
  });

  it('etcd down: the leader demotes itself', async () => {
    await scenario(
      'etcd down, then back',
      "the leader's demotion seen (no_leader or its role), writes lost and probed; leader back; write_verified",
      async () => {
        const since = Date.now();
        await labStopEtcd(lab.base);
        await waitFor(
          'the leader to demote itself',
          60_000,
          250,
          async () =>
            (await lab.events(since)).some((e) => e.type === 'no_leader' || (e.type === 'member_role_changed' && e.from === 'primary')) ||
            undefined,
        );
        await labStartEtcd(lab.base);
      },
      (events) => has(events, 'write_verified'),
      (w) => {
        const levels = clusterLevel(w.events);
        expect(levels.at(-1)).toBe('write_verified');
        expect(w.events.some((e) => e.type === 'no_leader' || (e.type === 'member_role_changed' && e.from === 'primary'))).toBe(true);
      },
      { cause: 'dcs_lost' },
    );
  });
}

for (const patroni of [3, 4] as PatroniMajor[]) {
  describe.sequential(`Patroni ${patroni}`, () => {
    const lab = new ScenarioLab(patroni, patroni === 3 ? 31000 : 32000);

    beforeAll(() => lab.start());
    afterAll(async () => {
      await lab.stop();
      writeScenarioReport(`patroni-${patroni}`, `Patroni ${patroni}`, 'fast', lab.results);
    });

    const { scenario } = scenarioKit(lab, patroni);
    profileScenarios(lab, scenario);

    it('failover to a named member', async () => {
      const leader = await lab.leader();
      const target = MEMBER_NAMES.filter((m) => m !== leader).at(-1)!;
      await scenario(
        'failover --to a named member',
        `leader_changed to the named member, timeline_changed, write_verified`,
        async () => void (await labFailover(lab.base, 'failover', target)),
        (events) => has(events, 'write_verified'),
        (w) => {
          expect(clusterLevel(w.events)).toEqual(handedOver(new RegExp(`^leader_changed ${leader}→${target} `)));
        },
      );
    });

    it('a replica down and back', async () => {
      const leader = await lab.leader();
      const replica = MEMBER_NAMES.find((m) => m !== leader)!;
      await scenario(
        'a replica down and back',
        'member_unreachable then member_reachable for the replica; no leader change, no probe',
        async () => {
          const since = Date.now();
          await labStopMember(lab.base, replica);
          await waitFor(
            'member_unreachable',
            30_000,
            250,
            async () => (await lab.events(since)).some((e) => e.type === 'member_unreachable') || undefined,
          );
          await labRejoin(lab.base, replica);
        },
        (events) => has(events, 'member_reachable'),
        (w) => {
          expect(clusterLevel(w.events)).toEqual([]);
          expect(w.events.filter((e) => e.type === 'member_unreachable' || e.type === 'member_reachable').map(describeEvent)).toEqual([
            `member_unreachable ${replica}`,
            `member_reachable ${replica}`,
          ]);
        },
      );
    });

    it("maintenance mode, and the leader's PostgreSQL dies", async () => {
      const leader = await lab.leader();
      await scenario(
        'paused cluster, leader PostgreSQL dies',
        "cluster_paused; the leader's PostgreSQL down is alerted and probed although Patroni does nothing; cluster_resumed; write_verified",
        async () => {
          const since = Date.now();
          await labSetPaused(lab.base, true);
          labKillPostgres(lab.base, leader);
          // Patroni stays quiet while paused: we must not. Let the poller see it, then hand back to Patroni.
          await waitFor(
            "the leader's PostgreSQL down in the trail",
            30_000,
            250,
            async () =>
              (await lab.events(since)).some((e) => e.type === 'member_state_changed' && e.member === leader && e.to !== 'running') ||
              undefined,
          );
          await sleep(5_000);
          await labSetPaused(lab.base, false);
        },
        (events) => has(events, 'write_verified'),
        (w) => {
          const levels = clusterLevel(w.events);
          expect(levels[0]).toBe('cluster_paused');
          expect(levels).toContain('cluster_resumed');
          expect(levels.at(-1)).toBe('write_verified');
          const down = w.events.find((e) => e.type === 'member_state_changed' && e.member === leader && e.to !== 'running')!;
          expect(severityOf(down)).not.toBeNull();
          // Writes were lost while paused: the outage covers the seconds Patroni was told to do nothing.
          const verified = w.events.find((e): e is WriteVerified => e.type === 'write_verified')!;
          expect(verified.outage.downtimeMinMs).toBeGreaterThanOrEqual(5_000);
        },
      );
      await waitFor('a healthy cluster', 120_000, 500, async () => (await lab.leader().catch(() => undefined)) && true);
    });

    it('two promotions between two polls (the poller was down)', async () => {
      await scenario(
        'two promotions between two polls',
        'one reconciled leader_changed from /history, the live leader_changed, timeline_changed by 2',
        async () => {
          await lab.stopPipeline();
          await labFailover(lab.base, 'switchover');
          await labFailover(lab.base, 'switchover');
          await lab.startPipeline();
        },
        (events) => has(events, 'timeline_changed'),
        (w) => {
          const levels = clusterLevel(w.events);
          expect(levels.slice(0, 3)).toEqual([
            expect.stringMatching(/^leader_changed .* \(reconciled\)$/),
            expect.stringMatching(/^leader_changed (?!.*reconciled)/),
            expect.stringMatching(/^timeline_changed (\d+)→(\d+)$/),
          ]);
          const timeline = w.events.find((e) => e.type === 'timeline_changed') as Extract<ClusterEvent, { type: 'timeline_changed' }>;
          expect(timeline.to - timeline.from).toBe(2);
        },
      );
    });

    it('two pipelines at once: two pollers race, two stream readers deliver every record twice', async () => {
      await scenario(
        'two pollers and two stream readers at once',
        'one leader_changed, one timeline_changed, one write_verified; every alert sent once although two notifiers saw it',
        () =>
          lab.withSecondPipeline(async () => {
            const since = Date.now();
            await labFailover(lab.base, 'switchover');
            await waitFor(
              'write_verified',
              60_000,
              250,
              async () => (await lab.events(since)).some((e) => e.type === 'write_verified') || undefined,
            );
            await sleep(5_000);
          }),
        (events) => has(events, 'write_verified'),
        (w) => {
          expect(clusterLevel(w.events)).toEqual(handedOver(/^leader_changed .* switchover$/));
        },
      );
    });

    it('AWS unreachable during a switchover', async () => {
      let restoredAt = 0;
      await scenario(
        'AWS unreachable during a switchover',
        'the leader_changed seen while the store is unreachable is recorded once when it is back, at the time it was observed',
        async () => {
          lab.proxyControl.cut();
          await labFailover(lab.base, 'switchover');
          await sleep(5_000);
          restoredAt = Date.now();
          lab.proxyControl.restore();
        },
        (events) => has(events, 'write_verified'),
        (w) => {
          // Issue 17, item 7: kept while the store was away, recorded with its own observation time.
          const changes = w.events.filter((e) => e.type === 'leader_changed');
          expect(changes).toHaveLength(1);
          expect(changes[0]!.observedAt).toBeLessThan(restoredAt);
        },
      );
    });

    it('the poller killed between observing and recording', async () => {
      await scenario(
        'poller killed between observing and recording',
        'the killed poller (SIGKILL, what a Lambda timeout mid-loop does) recorded nothing; the next poller records the leader_changed once',
        async () => {
          await lab.stopPipeline();
          const child = fork(
            join(import.meta.dirname, 'killablePoller.ts'),
            [JSON.stringify(lab.pipelineConfig()), JSON.stringify(lab.clientConfig())],
            {
              execArgv: ['--import', 'tsx'],
              stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
            },
          );
          const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
          await new Promise((resolve) => child.once('message', resolve));
          await sleep(2_000);
          await labFailover(lab.base, 'switchover');
          const signal = await Promise.race([exited, sleep(30_000, 'still running')]);
          if (signal !== 'SIGKILL') child.kill('SIGKILL');
          expect(signal).toBe('SIGKILL');
          await lab.startPipeline();
        },
        (events) => has(events, 'write_verified'),
        (w) => {
          expect(w.events.filter((e) => e.type === 'leader_changed')).toHaveLength(1);
        },
      );
    });

    it('SNS and Slack down for two minutes during a failover', async () => {
      const outageMs = 120_000;
      let repairedAt = 0;
      let stopped = '';
      await scenario(
        'SNS and Slack down for 2 minutes',
        'the probe measures the outage meanwhile; every alert delivered once after they recover, none twice',
        async () => {
          await lab.breakSns();
          lab.slack.unavailableUntil = Date.now() + outageMs;
          const brokenAt = Date.now();
          stopped = (await labFailover(lab.base, 'stop')).oldLeader;
          await sleep(Math.max(0, brokenAt + outageMs - Date.now()));
          await lab.repairSns();
          repairedAt = Date.now();
        },
        (events) =>
          has(events, 'write_verified') && lab.alerts.some((a) => a.type === 'write_verified' && events.some((e) => e.id === a.eventId)),
        (w) => {
          expect(clusterLevel(w.events)).toEqual(handedOver(/^leader_changed .* failover$/));
          // The probe did its work while the alert channels were down.
          const verified = w.events.find((e): e is WriteVerified => e.type === 'write_verified')!;
          expect(verified.observedAt).toBeLessThan(repairedAt);
        },
      );
      await labRejoin(lab.base, stopped);
    });

    it('the cluster re-bootstrapped (new system identifier)', async () => {
      await scenario(
        'cluster re-bootstrapped',
        'cluster_unreachable while it is down, identity_mismatch (system_identifier) when it is back',
        async () => {
          await labDown(lab.base);
          await freshLab(lab.options);
        },
        (events) => has(events, 'identity_mismatch'),
        (w) => {
          const levels = clusterLevel(w.events);
          expect(levels).toContain('cluster_unreachable');
          expect(levels).toContain('identity_mismatch system_identifier');
        },
      );
    });

    it('every alert reached the SQS pager exactly once', async () => {
      await sleep(3_000);
      const paged = (await lab.pager()).map((a) => a.eventId).sort();
      expect(paged).toEqual(lab.alerts.map((a) => a.eventId).sort());
      expect(new Set(lab.slack.eventIds()).size).toBe(lab.slack.eventIds().length);
    });
  });
}

for (const patroni of [3, 4] as PatroniMajor[]) {
  describe.sequential(`Patroni ${patroni}, field profile (Patroni's defaults, the sample HAProxy)`, () => {
    // Below the kernel's ephemeral ports (32768 and up): an outgoing connection can hold any port up there.
    const lab = new ScenarioLab(patroni, patroni === 3 ? 29000 : 29500, 'field');

    beforeAll(() => lab.start());
    afterAll(async () => {
      await lab.stop();
      writeScenarioReport(`patroni-${patroni}-field`, `Patroni ${patroni}`, 'field', lab.results);
    });

    profileScenarios(lab, scenarioKit(lab, patroni).scenario);
  });
}
