// Issue 15, item 6: a storm through the whole local pipeline. Fifty simulated Patroni 4 clusters (loopback
// stand-ins: the lab has one cluster) fail over within 10 s while the poller, the stream reader and the notifier
// run as `failover watch` runs them; Slack, PagerDuty and the SNS subscribers are wire-faithful stand-ins.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../lab/processes.js';
import { validateConfig } from '../../lambdas/config/config.js';
import type { Alert } from '../../lambdas/domain/alerts.js';
import type { ClusterEvent } from '../../lambdas/domain/events.js';
import { awsClientConfig, emulatorTarget, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline.js';
import { FakeCluster } from '../support/fakeCluster.js';
import { capturedLog } from '../support/logCapture.js';
import { PagerQueue } from '../support/pager.js';
import { TEST_SECRETS } from '../support/secrets.js';
import { incidentOfParent, PagerDutyStandIn, SlackStandIn } from '../support/standIns.js';

const CLUSTERS = 50;
/** Openings this close make one storm; it ends at the first member event this long after the last joined. */
const WINDOW_SECONDS = 15;
/** The template's filter policy of a person's subscription (lib/FailoverStorage.ts). */
const PEOPLE = { pageSeverity: ['critical', 'warning', 'info'], page: ['open', 'escalate', 'resolve', 'change'] };
const az = (i: number) => (i % 10 === 9 ? 'eu-west-1b' : 'eu-west-1a');

describe('A storm: 50 clusters fail over within 10 s (issue 15, item 6)', () => {
  const clusters = Array.from({ length: CLUSTERS }, () => new FakeCluster());
  const slack = new SlackStandIn();
  const pagerduty = new PagerDutyStandIn(TEST_SECRETS.pagerDutyRoutingKey);
  const recorded: ClusterEvent[] = [];
  const alerts: Alert[] = [];
  /** The incident each alert was sent for, by event id. */
  const incidentOfAlert = new Map<string, string>();
  let aws: LocalAws;
  let pipeline: LocalPipeline;
  let machines: PagerQueue;
  let people: PagerQueue;

  beforeAll(async () => {
    aws = await startLocalAws();
    await Promise.all(clusters.map((c) => c.start()));
    const slackUrl = await slack.start();
    const pagerDutyUrl = await pagerduty.start();
    process.env.STORM_TEST_SLACK_TOKEN = TEST_SECRETS.slackBotToken;
    process.env.STORM_TEST_PD_KEY = TEST_SECRETS.pagerDutyRoutingKey;
    machines = await PagerQueue.subscribe(awsClientConfig(aws), { name: 'storm-machines' });
    people = await PagerQueue.subscribe(awsClientConfig(aws), { name: 'storm-people', filterPolicy: PEOPLE });
    const config = validateConfig({
      clusters: clusters.map((c, i) => ({ name: `db-${i}`, members: c.urls, tags: { az: az(i) } })),
      poll: { intervalSeconds: 1, timeoutMs: 1_000 },
      notify: {
        slack: { botTokenEnv: 'STORM_TEST_SLACK_TOKEN', channel: '#oncall', apiUrl: slackUrl },
        pagerduty: { routingKeyEnv: 'STORM_TEST_PD_KEY', eventsUrl: pagerDutyUrl },
        storm: { windowSeconds: WINDOW_SECONDS },
      },
      store: { tableName: 'storm-events' },
    });
    pipeline = await startLocalPipeline({
      config,
      aws: emulatorTarget(aws, 'test emulator'),
      log: capturedLog('storm-pipeline'),
      onRecorded: (event) => recorded.push(event),
      onAlert: (alert, incidentKey) => {
        alerts.push(alert);
        incidentOfAlert.set(alert.eventId, incidentKey);
      },
    });
    await waitFor('every cluster watched', 60_000, 250, () =>
      new Set(recorded.filter((e) => e.type === 'watch_started').map((e) => e.cluster)).size === CLUSTERS ? true : undefined,
    );
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
    await Promise.all(clusters.map((c) => c.stop()));
    await slack.stop();
    await pagerduty.stop();
    await aws?.stop();
  });

  it('one fleet page per channel, every cluster grouped under it, nothing lost, every incident resolved', async () => {
    // Act: every leader goes (its Patroni stops answering) and pg_node2 takes over, 200 ms apart.
    for (const cluster of clusters) {
      cluster.cues[0]!.down = true;
      cluster.leader = 1;
      cluster.timeline = 2;
      await sleep(200);
    }
    const lastFailoverAt = Date.now();
    await waitFor('a leader_changed of every cluster', 120_000, 250, () =>
      new Set(recorded.filter((e) => e.type === 'leader_changed').map((e) => e.cluster)).size === CLUSTERS ? true : undefined,
    );
    // Without a VIP each incident resolves as soon as the new leader is seen: the storm waits out its window for
    // late members, and ends at the first member event after it (here: the old leaders back as replicas).
    await sleep(Math.max(0, lastFailoverAt + WINDOW_SECONDS * 1000 + 1_000 - Date.now()));
    for (const cluster of clusters) cluster.cues[0]!.down = false;
    const fleet = await waitFor('the storm resolved', 180_000, 500, async () => {
      const state = await pipeline.store.loadFleetState();
      return state.storm === null && state.previous?.status === 'resolved' ? state : undefined;
    });
    const storm = fleet.previous!;

    // Nothing lost: every cluster is a member, each with its own incident, every one resolved. The fleet record
    // counts a member resolved before that member's own state is saved, which waits for its alert to leave on
    // every channel (Slack at one message a second after a burst): so the clusters are waited for, within a bound.
    const stormClusters = new Set(storm.members.map((m) => m.cluster)).size;
    expect(stormClusters).toBe(CLUSTERS);
    const pageStatus = async (i: number) => (await pipeline.store.loadNotifierState(`db-${i}`)).page?.status;
    const unresolved = async () => {
      const statuses = await Promise.all(Array.from({ length: CLUSTERS }, (_, i) => pageStatus(i)));
      return statuses.filter((status) => status !== 'resolved').length;
    };
    await waitFor('every cluster resolved', 120_000, 500, async () => ((await unresolved()) === 0 ? true : undefined)).catch(
      () => undefined,
    );
    for (let i = 0; i < CLUSTERS; i++) expect(await pageStatus(i)).toBe('resolved');
    // A member is an incident: a cluster that opened a second one within the storm (a member slow to answer as the
    // watch began, say) is a member twice, and the storm's pages count it once.
    const grouped = storm.members.filter((m) => !m.pagedAlone);
    const pagedAlone = storm.members.filter((m) => m.pagedAlone);
    expect(grouped.length).toBeGreaterThanOrEqual(CLUSTERS - 4);

    // PagerDuty: one fleet trigger and one resolve; each grouped member's own alert carries the storm as its group.
    const onStorm = pagerduty.accepted.filter((r) => r.body.dedup_key === storm.key);
    expect(onStorm.map((r) => r.body.event_action)).toEqual(['trigger', 'resolve']);
    expect(onStorm[0]!.body.payload?.summary).toMatch(/^\[CRITICAL\] STORM \d+ clusters failing over/);
    const memberTriggers = pagerduty.accepted.filter((r) => r.body.event_action === 'trigger' && r.body.dedup_key !== storm.key);
    const groupedKeys = new Set(grouped.map((m) => m.incidentKey));
    for (const trigger of memberTriggers.filter((t) => groupedKeys.has(t.body.dedup_key!))) {
      expect(trigger.body.payload?.group).toBe(storm.key);
      expect(trigger.body.payload?.class).toBe(grouped.find((m) => m.incidentKey === trigger.body.dedup_key)!.kind);
    }
    expect(new Set(memberTriggers.map((t) => t.body.dedup_key)).size).toBe(memberTriggers.length);

    // Slack: one fleet parent, edited to its resolution; each grouped member's incident a reply in its thread.
    const roots = slack.requests.filter((r) => r.path.endsWith('/chat.postMessage') && !r.body.thread_ts);
    const fleetRoots = roots.filter((r) => String(r.body.text).startsWith('STORM'));
    expect(fleetRoots).toHaveLength(1);
    const fleetTs = fleetRoots[0]!.replyTs;
    const fleetEdits = slack.requests.filter((r) => r.path.endsWith('/chat.update') && r.body.ts === fleetTs);
    expect(String(fleetEdits.at(-1)!.body.text)).toMatch(new RegExp(`^RESOLVED storm of ${stormClusters} clusters`));
    const replies = slack.requests.filter((r) => r.path.endsWith('/chat.postMessage') && r.body.thread_ts === fleetTs);
    expect(replies).toHaveLength(grouped.length);
    // Every other parent is the incident of a member that paged before the storm was recognised.
    const parentsOwn = roots.filter((r) => r !== fleetRoots[0]).map((r) => incidentOfParent(r.body) ?? JSON.stringify(r.body.text));
    expect(parentsOwn.sort()).toEqual(pagedAlone.map((m) => m.incidentKey).sort());
    expect(String(fleetRoots[0]!.body.text)).toContain('in az=eu-west-1a');

    // SNS: people get the storm's opening and resolution, and the few that paged before it; machines get everything.
    const attribute = (m: { MessageAttributes?: Record<string, { StringValue?: string }> }, name: string) =>
      m.MessageAttributes?.[name]?.StringValue;
    const toPeople = await people.drain();
    const stormToPeople = toPeople.filter((m) => attribute(m, 'type') === 'fleet_storm');
    expect(stormToPeople.map((m) => attribute(m, 'page'))).toEqual(['open', 'resolve']);
    const groupedIncidents = new Set(grouped.map((m) => m.incidentKey));
    const groupedToPeople = toPeople
      .filter((m) => attribute(m, 'type') !== 'fleet_storm')
      .filter((m) => groupedIncidents.has(incidentOfAlert.get((JSON.parse(m.Body!) as Alert).eventId)!));
    expect(groupedToPeople).toEqual([]);
    expect(toPeople.length).toBeGreaterThan(2);
    const toMachines = await machines.drain();
    const alertIds = toMachines.filter((m) => attribute(m, 'type') !== 'fleet_storm').map((m) => (JSON.parse(m.Body!) as Alert).eventId);
    expect([...alertIds].sort()).toEqual(alerts.map((a) => a.eventId).sort());
    expect(new Set(alertIds).size).toBe(alertIds.length);
  }, 420_000);
});
