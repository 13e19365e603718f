// The guide's VIP path: keepalived moves a VIP between a master and a backup HAProxy, on test hosts in network
// namespaces this file creates (lab/vip.ts). Patroni sees nothing of it; only writes through the VIP tell.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHistory, readLeader } from '../../lab/cluster.js';
import { labDown } from '../../lab/lab.js';
import { waitFor } from '../../lab/processes.js';
import { fastLabOptions, freshLab } from '../../lab/profiles.js';
import { labStateExists } from '../../lab/state.js';
import { LAB_CREDENTIALS } from '../../lab/templates.js';
import { LAB_HAPROXY_CHECKS } from '../../lab/topology.js';
import { clientCommand, killHaproxy, type VipLab, vipHolder, vipUp } from '../../lab/vip.js';
import { writerOutage } from '../../lab/writer.js';
import { PatroniHttp } from '../../lambdas/adapters/patroni/http.js';
import { validateConfig } from '../../lambdas/config/config.js';
import type { Alert } from '../../lambdas/domain/alerts.js';
import type { ClusterEvent, ProbePayload } from '../../lambdas/domain/events.js';
import { stabilityWindowMs } from '../../lambdas/domain/outage.js';
import type { VipTarget } from '../../lambdas/domain/ports.js';
import { awsClientConfig, emulatorTarget, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline.js';
import { capturedLog } from '../support/logCapture.js';
import { PagerQueue } from '../support/pager.js';
import type { ScenarioResult } from './harness.js';
import { writeScenarioReport } from './report.js';

const BASE = 19000;
const options = fastLabOptions(4, BASE);

interface ClientMessage {
  ready?: boolean;
  verdict?: ProbePayload;
  canary?: ClusterEvent[];
  writer?: { at: number; ok: boolean }[];
}

describe.sequential("The guide's VIP path: keepalived, a master and a backup HAProxy in network namespaces (Patroni 4)", () => {
  const results: ScenarioResult[] = [];
  const messages: ClientMessage[] = [];
  let vip: VipLab;
  let client: ChildProcess;
  let aws: LocalAws;
  let pipeline: LocalPipeline;
  let pager: PagerQueue;
  const alerts: Alert[] = [];
  const http = new PatroniHttp({ timeoutMs: 2_000 });

  const next = (key: keyof ClientMessage, timeoutMs: number) =>
    waitFor(`the client host's ${key}`, timeoutMs, 100, () => messages.find((m) => m[key] !== undefined));
  const history = async () => (await readHistory(options, http))?.length ?? -1;

  beforeAll(async () => {
    await freshLab(options);
    vip = await vipUp(BASE);
    const target: VipTarget = {
      host: vip.address,
      port: vip.port,
      database: 'postgres',
      user: 'postgres',
      password: LAB_CREDENTIALS.superuser.password,
      sslMode: 'disable',
    };
    client = spawn(
      '/usr/sbin/ip',
      clientCommand(vip, [
        process.execPath,
        '--import',
        'tsx',
        join(import.meta.dirname, 'vipClient.ts'),
        JSON.stringify({
          vip: target,
          stabilityWindowMs: stabilityWindowMs({ interSeconds: options.timings.haproxyInterSeconds, fall: LAB_HAPROXY_CHECKS.fall }),
        }),
      ]),
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    client.on('message', (message: ClientMessage) => messages.push(message));
    await next('ready', 30_000);
    // The alert path for the canary's finding: the local pipeline (stream, notifier, SNS) with a pager queue.
    aws = await startLocalAws();
    pager = await PagerQueue.subscribe(awsClientConfig(aws));
    pipeline = await startLocalPipeline({
      config: validateConfig({
        clusters: [{ name: 'vip', scope: options.scope, members: options.ports.restApi.map((p) => `http://127.0.0.1:${p}`) }],
        poll: { intervalSeconds: 1 },
        store: { tableName: 'vip-events' },
      }),
      aws: emulatorTarget(aws, 'vip emulator'),
      log: capturedLog('pipeline-vip'),
      onAlert: (alert) => alerts.push(alert),
    });
  });

  afterAll(async () => {
    if (client?.connected) client.send('exit');
    await sleep(500);
    client?.kill('SIGKILL');
    await pipeline?.stop();
    await aws?.stop();
    await http.close();
    if (labStateExists(BASE)) await labDown(BASE); // takes the VIP path down first
    writeScenarioReport('patroni-4-vip', 'Patroni 4, VIP', 'fast', results);
  });

  it('the master HAProxy dies: the VIP moves to the backup, and the write probe measures the gap Patroni never saw', async () => {
    // Prepare
    await sleep(2_000);
    const rowsBefore = await history();
    const leaderBefore = (await readLeader(options, http))?.name;
    const started = Date.now();
    // Act: kill ha1's HAProxy; the probe starts at once, as a canary or an alert would start it.
    killHaproxy(vip, 'ha1');
    const killedAt = Date.now();
    client.send('probe');
    const { verdict } = await next('verdict', 90_000);
    await waitFor('the VIP on ha2', 30_000, 250, () => (vipHolder(vip) === 'ha2' ? true : undefined));
    await sleep(1_000);
    client.send('stop');
    const { writer } = await next('writer', 30_000);
    const outage = writerOutage(writer!, killedAt - 200, Number.POSITIVE_INFINITY);
    // Assess
    const result: ScenarioResult = {
      name: 'master HAProxy killed, VIP moves',
      expected: "VIP on the backup; the probe's write_verified bounds hold the writer's outage; /history and the leader unchanged",
      observed: [`VIP on ${vipHolder(vip)}`, `probe: ${verdict!.type}, errors ${JSON.stringify(verdict!.errors)}`],
      leaderChanges: 0,
      historyRows: (await history()) - rowsBefore,
      alerts: 0,
      writerOutageSeconds: outage?.seconds ?? null,
      probeBoundsSeconds: verdict ? [verdict.outage.downtimeMinMs / 1000, verdict.outage.downtimeMaxMs / 1000] : null,
      restoreErrorMs: verdict?.type === 'write_verified' && outage ? Date.parse(verdict.restoredAt) - outage.end : null,
      anatomy: null,
      seconds: (Date.now() - started) / 1000,
      passed: false,
    };
    results.push(result);
    expect(vipHolder(vip)).toBe('ha2');
    expect(verdict!.type).toBe('write_verified');
    expect(outage, 'the writer saw the VIP gap').not.toBeNull();
    const verified = verdict as Extract<ProbePayload, { type: 'write_verified' }>;
    const around = writer!
      .filter((a) => a.at >= killedAt - 300 && a.at <= Date.parse(verified.restoredAt) + 500)
      .map((a) => `${a.at - killedAt}${a.ok ? '+' : '-'}`);
    expect(
      Math.abs(Date.parse(verified.restoredAt) - outage!.end),
      `${JSON.stringify(verified)} writer: ${around.join(' ')}`,
    ).toBeLessThanOrEqual(300);
    // The writer's outage lies within the probe's bounds (the writer writes every 100 ms).
    expect(outage!.end - outage!.start).toBeGreaterThanOrEqual(verified.outage.downtimeMinMs - 100);
    expect(outage!.end - outage!.start).toBeLessThanOrEqual(verified.outage.downtimeMaxMs + 100);
    // Patroni saw nothing: no promotion, the same leader.
    expect(result.historyRows).toBe(0);
    expect((await readLeader(options, http))?.name).toBe(leaderBefore);
    result.passed = true;
  });

  it('HAProxy down on both hosts while Patroni is healthy: the canary fails, and the notifier pages', async () => {
    // Prepare
    const started = Date.now();
    // Act
    killHaproxy(vip, 'ha2');
    await waitFor('keepalived to drop the VIP', 30_000, 250, () => (vipHolder(vip) === null ? true : undefined));
    client.send('canary');
    const { canary } = await next('canary', 30_000);
    // The canary's finding takes the production path from here: the store, the stream, the notifier, SNS.
    for (const event of canary!) await pipeline.store.recordEvent(event);
    const paged = await waitFor('the canary alert on the pager', 30_000, 200, async () =>
      (await pager.alerts()).find((a) => a.type === 'canary_failed'),
    );
    const leader = await readLeader(options, http);
    // Assess
    const result: ScenarioResult = {
      name: 'both HAProxies down, Patroni healthy',
      expected: 'canary_failed recorded and paged (warning) although Patroni reports a healthy leader',
      observed: canary!.map((e) => `${e.type} ${(e as Extract<ClusterEvent, { type: 'canary_failed' }>).errorClass}`),
      leaderChanges: 0,
      historyRows: 0,
      alerts: alerts.filter((a) => a.type === 'canary_failed').length,
      writerOutageSeconds: null,
      probeBoundsSeconds: null,
      restoreErrorMs: null,
      anatomy: null,
      seconds: (Date.now() - started) / 1000,
      passed: false,
    };
    results.push(result);
    expect(canary).toHaveLength(1);
    expect(paged.severity).toBe('warning');
    expect(leader?.state).toBe('running');
    expect(result.alerts).toBe(1);
    result.passed = true;
  });
});
