import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FailoverMode, labFailover, labRejoin } from '../../lab/faults.js';
import { labDown } from '../../lab/lab.js';
import { waitFor } from '../../lab/processes.js';
import { freshLab, type LabProfile, labHaproxyConfig, labOptions } from '../../lab/profiles.js';
import { labStateExists } from '../../lab/state.js';
import { LAB_CREDENTIALS } from '../../lab/templates.js';
import { IndependentWriter } from '../../lab/writer.js';
import { validateConfig } from '../../lambdas/config/config.js';
import type { Alert } from '../../lambdas/domain/alerts.js';
import { anatomySummary } from '../../lambdas/domain/anatomy.js';
import type { ClusterEvent } from '../../lambdas/domain/events.js';
import { awsClientConfig, emulatorTarget, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline.js';
import { runFailover } from '../support/cli.js';
import { capturedLog } from '../support/logCapture.js';
import { PagerQueue } from '../support/pager.js';
import { TEST_SECRETS } from '../support/secrets.js';
import { PagerDutyStandIn, SlackStandIn } from '../support/standIns.js';

type WriteVerified = Extract<ClusterEvent, { type: 'write_verified' }>;

const PROFILES: { profile: LabProfile; base: number }[] = [
  { profile: 'fast', base: 28000 },
  { profile: 'field', base: 28100 },
];

describe.each(PROFILES)('Notifier on a real Patroni 4 lab, $profile profile: alerts and the measured write outage', ({ profile, base }) => {
  const BASE = base;
  const options = labOptions(profile, 4, BASE);
  const table = `notifier-events-${profile}`;
  let aws: LocalAws;
  let pipeline: LocalPipeline;
  const slack = new SlackStandIn();
  const pagerduty = new PagerDutyStandIn(TEST_SECRETS.pagerDutyRoutingKey);
  const writer = new IndependentWriter(BASE);
  const recorded: ClusterEvent[] = [];
  const alerts: Alert[] = [];
  let pager: PagerQueue;
  const writerOutages = new Map<FailoverMode, { start: number; end: number; seconds: number }>();
  const testStartedAt = Date.now();

  beforeAll(async () => {
    aws = await startLocalAws();
    const slackUrl = await slack.start();
    const pagerDutyUrl = await pagerduty.start();
    process.env.NOTIFIER_TEST_PD_KEY = TEST_SECRETS.pagerDutyRoutingKey;
    process.env.NOTIFIER_TEST_PGPASSWORD = LAB_CREDENTIALS.superuser.password;
    process.env.NOTIFIER_TEST_SLACK_TOKEN = TEST_SECRETS.slackBotToken;
    // The pager's queue, subscribed to the alert topic before the pipeline starts.
    pager = await PagerQueue.subscribe(awsClientConfig(aws));
    await freshLab(options);
    const config = validateConfig({
      clusters: [
        {
          name: 'denemek',
          scope: 'denemek',
          members: options.ports.restApi.map((p) => `http://127.0.0.1:${p}`),
          vip: {
            host: '127.0.0.1',
            port: BASE,
            database: 'postgres',
            user: 'postgres',
            passwordEnv: 'NOTIFIER_TEST_PGPASSWORD',
            probeMembersDirectly: true,
          },
          haproxy: labHaproxyConfig(options),
        },
      ],
      poll: { intervalSeconds: 1 },
      notify: {
        slack: { botTokenEnv: 'NOTIFIER_TEST_SLACK_TOKEN', channel: '#oncall', apiUrl: slackUrl },
        pagerduty: { routingKeyEnv: 'NOTIFIER_TEST_PD_KEY', eventsUrl: pagerDutyUrl },
      },
      store: { tableName: table },
    });
    pipeline = await startLocalPipeline({
      config,
      aws: emulatorTarget(aws, 'test emulator'),
      log: capturedLog('pipeline', (m, e) => console.error(m, ...e)),
      onRecorded: (event) => recorded.push(event),
      onAlert: (alert) => alerts.push(alert),
    });
    writer.start();
    await waitFor('the pipeline baseline', 15_000, 200, () => (recorded.some((e) => e.type === 'watch_started') ? true : undefined));
  });

  afterAll(async () => {
    await writer.stop();
    await pipeline?.stop();
    if (labStateExists(BASE)) await labDown(BASE);
    await slack.stop();
    await pagerduty.stop();
    await aws?.stop();
  });

  const modes: FailoverMode[] = ['stop', 'kill', 'switchover'];
  it.each(modes)('measures the write outage of --mode %s against an independent writer', async (mode) => {
    // Prepare
    await sleep(1_500);
    const injectedAt = Date.now();
    // Act
    const result = await labFailover(BASE, mode);
    const verified = await waitFor(`write_verified after ${mode}`, 120_000, 250, () =>
      recorded.find((e): e is WriteVerified => e.type === 'write_verified' && e.outage.startedBefore >= injectedAt - 2_000),
    );
    await sleep(1_000);
    const outage = writer.outageAfter(injectedAt);
    if (outage) writerOutages.set(mode, outage);
    if (mode === 'stop' || mode === 'kill') await labRejoin(BASE, result.oldLeader);
    // Assess: the probe saw writes come back for good when the writer did (the writer's first write after its
    // last failure), and its bounds hold the writer's outage. The probe never says so before the writer (within
    // the writer's sampling) and may say so up to a second later: it opens two connections per attempt where the
    // writer opens one, so it catches a last failing turn the writer's single connection was not handed.
    expect(outage, 'the independent writer saw the outage').not.toBeNull();
    const restoredAt = Date.parse(verified.restoredAt);
    const around = writer.attempts
      .filter((a) => a.at > injectedAt - 500 && a.at < restoredAt + 3_000)
      .map((a) => `${new Date(a.at).toISOString().slice(17, 23)}${a.ok ? '+' : '-'}${a.ms}`);
    const detail = `probe ${verified.restoredAt} vs writer ${new Date(outage!.end).toISOString()}: ${JSON.stringify(verified)} writer ${around.join(' ')}`;
    expect(restoredAt - outage!.end, detail).toBeGreaterThanOrEqual(-300);
    expect(restoredAt - outage!.end, detail).toBeLessThanOrEqual(1_000);
    console.info(
      `${profile} ${mode}: writer outage ${outage!.seconds.toFixed(2)} s, probe bounds [${verified.outage.downtimeMinMs / 1000}, ${verified.outage.downtimeMaxMs / 1000}] s, ` +
        `restoredAt - writer's restore = ${restoredAt - outage!.end} ms, flapping ${JSON.stringify(verified.flapping)}`,
    );
    const writerResolutionMs = 100;
    expect(outage!.end - outage!.start).toBeGreaterThanOrEqual(verified.outage.downtimeMinMs - writerResolutionMs);
    expect(outage!.end - outage!.start).toBeLessThanOrEqual(verified.outage.downtimeMaxMs + writerResolutionMs);
    expect(verified.servedBy.port).toBe(options.ports.postgres[['pg_node1', 'pg_node2', 'pg_node3'].indexOf(result.newLeader)]);
    expect(verified.servedBy.timeline).toBe(result.newTimeline);
    // The anatomy: its cause, every milestone observed (the lab lets the probe reach members and has a stats page),
    // phases that add up to the outage, and a prediction from the lab's own settings that holds it.
    const anatomy = verified.anatomy!;
    expect(anatomy.cause.kind, JSON.stringify(anatomy)).toBe(mode === 'switchover' ? 'planned' : 'unreachable');
    expect(anatomy.milestones.filter((m) => m.at === null).map((m) => m.evidence)).toEqual([]);
    expect(anatomy.phases.reduce((sum, p) => sum + p.durationMs, 0)).toBe(anatomy.outageMs);
    expect(anatomy.outageMs).toBe(verified.outage.downtimeMaxMs);
    expect(anatomy.settings).toMatchObject({ ttl: options.timings.ttl, loopWait: options.timings.loopWait });
    expect(anatomy.longerThanPredicted, JSON.stringify(anatomy.predicted)).toBe(false);
    expect(outage!.end - outage!.start).toBeGreaterThanOrEqual(anatomy.predicted!.minMs - 1_000);
    if (mode === 'kill')
      expect(anatomy.phases.find((p) => p.name === 'leader_key')!.label).toBe(
        `waiting for the leader key to expire (ttl ${options.timings.ttl})`,
      );
    console.info(`${profile} ${mode} anatomy: ${anatomySummary(anatomy)}`);
    // PagerDuty: a failure is one trigger and one resolve on the incident's key, the resolve once writes are back for
    // good; a switchover is one change event and no trigger.
    await waitFor(`PagerDuty's last request after ${mode}`, 10_000, 250, () =>
      pagerduty.accepted.some(
        (r) => r.at >= injectedAt && (mode === 'switchover' ? r.path === '/v2/change/enqueue' : r.body.event_action === 'resolve'),
      )
        ? true
        : undefined,
    );
    const paged = pagerduty.accepted.filter((r) => r.at >= injectedAt);
    if (mode === 'switchover') {
      expect(pagerduty.actions().slice(-paged.length), JSON.stringify(paged)).toEqual(['change denemek']);
    } else {
      const ours = paged.filter((r) => r.body.dedup_key === verified.incident).map((r) => r.body.event_action);
      expect(ours, JSON.stringify(paged)).toEqual(['trigger', 'resolve']);
      expect(paged.filter((r) => r.body.event_action === 'trigger')).toHaveLength(1);
      expect(paged.find((r) => r.body.event_action === 'resolve')!.at).toBeGreaterThanOrEqual(restoredAt);
    }
  });

  it("`failover sla --month` reports the minutes watched as coverage well under 1, and the kill -9 incident with bounds that contain the writer's outage", async () => {
    // Act: the month of the kill, cut at now; only the minutes of this test were watched.
    const killed = writerOutages.get('kill')!;
    const month = new Date(killed.start).toISOString().slice(0, 7);
    const result = await runFailover(['sla', '--cluster', 'denemek', '--month', month, '--format', 'json', '--table', table], 60_000, {
      ...process.env,
      AWS_ENDPOINT_URL: aws.endpoint,
    });
    // Assess
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    const incident = report.incidents.find(
      (i: { start: string; end: string }) => Date.parse(i.start) <= killed.end && Date.parse(i.end) >= killed.start,
    );
    expect(incident, JSON.stringify(report.incidents)).toBeDefined();
    expect(incident.kind).toBe('failover');
    const resolution = 0.1; // the writer writes every 100 ms
    expect(killed.seconds).toBeGreaterThanOrEqual(incident.downtimeMinSeconds - resolution);
    expect(killed.seconds).toBeLessThanOrEqual(incident.downtimeMaxSeconds + resolution);
    expect(report.incidents.filter((i: { kind: string }) => i.kind === 'switchover')).toHaveLength(1);
    const watchedSeconds = (Date.now() - testStartedAt) / 1000;
    expect(report.coverage).toBeGreaterThan(0);
    expect(report.coverage).toBeLessThan(0.5);
    expect(report.watchedSeconds).toBeLessThanOrEqual(watchedSeconds);
    expect(report.unwatched[0].reason).toBe('before_first_watch');
    expect(report.availabilityBoundsPercent.lower).toBeLessThan(report.availabilityBoundsPercent.upper);
    expect(report.verdict.status, report.verdict.reason).not.toBe('met');
  });

  it('delivered every alert once to the SQS pager, and to Slack one parent per incident edited to its end with the events in its thread', async () => {
    // Prepare: let the last alerts through.
    await sleep(3_000);
    const sqsMessages = await pager.drain();
    // Assess: SNS → SQS, once per alert.
    const sent = alerts.map((a) => a.eventId);
    expect(new Set(sent).size).toBe(sent.length);
    const delivered = sqsMessages.map((m) => JSON.parse(m.Body!) as Alert);
    expect(delivered.map((a) => a.eventId).sort()).toEqual([...sent].sort());
    for (const message of sqsMessages) {
      const body = JSON.parse(message.Body!) as Alert;
      expect(message.MessageAttributes?.cluster?.StringValue).toBe('denemek');
      expect(message.MessageAttributes?.type?.StringValue).toBe(body.type);
      expect(message.MessageAttributes?.severity?.StringValue).toBe(body.severity);
    }
    expect(delivered.filter((a) => a.type === 'write_verified')).toHaveLength(3);
    // Slack renders incidents: each event message once, in the thread of its incident's parent message, and each
    // parent edited to its end (RESOLVED for stop and kill -9, DONE for the switchover).
    const events = slack.eventIds();
    expect(new Set(events).size).toBe(events.length);
    expect(events.every((id) => sent.includes(id))).toBe(true);
    const eventMessages = slack.requests.filter(
      (r) => r.path.endsWith('/chat.postMessage') && /^event `/.test(JSON.stringify(r.body.blocks).match(/event `[^`]+`/)?.[0] ?? ''),
    );
    const parents = slack.parents();
    const parentTs = new Set(parents.filter((p) => !p.edited).map((p) => p.ts));
    for (const message of eventMessages) expect(parentTs.has(message.body.thread_ts as string), JSON.stringify(message.body)).toBe(true);
    const verdictMessages = eventMessages.filter((r) => JSON.stringify(r.body).includes('writes work again'));
    expect(verdictMessages.length).toBe(3);
    const lastHeader = (ts: string) => parents.filter((p) => p.ts === ts).at(-1)!.header;
    const endings = [...new Set(verdictMessages.map((r) => r.body.thread_ts as string))].map(lastHeader);
    expect(endings.filter((h) => h.startsWith('RESOLVED'))).toHaveLength(2);
    expect(endings.filter((h) => h.startsWith('DONE'))).toHaveLength(1);
    expect(slack.requests.every((r) => r.headers.authorization === `Bearer ${TEST_SECRETS.slackBotToken}`)).toBe(true);
  });
});
