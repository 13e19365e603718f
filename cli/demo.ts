import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { LabError } from '../lab/errors.js';
import { labFailover } from '../lab/faults.js';
import { labDown, labUp } from '../lab/lab.js';
import { labHaproxyConfig } from '../lab/profiles.js';
import { runSql } from '../lab/sql.js';
import { labStateExists } from '../lab/state.js';
import { labStatus } from '../lab/status.js';
import { LAB_CREDENTIALS } from '../lab/templates.js';
import { GUIDE_PORTS, GUIDE_TIMINGS, type PatroniMajor } from '../lab/topology.js';
import { validateConfig } from '../lambdas/config/config.js';
import { causeWords, type IncidentAnatomy } from '../lambdas/domain/anatomy.js';
import { describeEvent } from '../lambdas/domain/describe.js';
import { messageOf } from '../lambdas/domain/errors.js';
import type { ClusterEvent } from '../lambdas/domain/events.js';
import { percent, verdictLine } from '../lambdas/domain/reportFormats.js';
import { DEFAULT_SLO, type SlaReport } from '../lambdas/domain/sla.js';
import { clusterReport } from '../lambdas/services/reporter/slaReports.js';
import { emulatorTarget, startLocalAws } from '../local/emulator.js';
import { startLocalPipeline } from '../local/pipeline.js';
import { renderLabStatus } from './labCommands.js';

const VIP_PORT = GUIDE_PORTS.haproxy;
const started = Date.now();
const clock = () => `+${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;

/** One chronological stream, each line tagged with who speaks: the timeline is the side-by-side view. */
function say(source: 'lab' | 'client' | 'event' | 'alert' | 'demo', line: string): void {
  process.stdout.write(`${clock()}  ${`[${source}]`.padEnd(8)} ${line}\n`);
}

/** The guide's client: a long insert through HAProxy, cut by the failover, then reconnected and resubmitted. */
async function longInsertWithRetry(): Promise<{ failedAt: number; error: string; resubmittedAt: number; attempts: number }> {
  const statement = 'INSERT INTO failover SELECT g FROM generate_series(1, 120) g WHERE pg_sleep(0.05) IS NOT NULL';
  const run = () => runSql(VIP_PORT, [statement], { statementTimeoutMs: 60_000 });
  say('client', `running a long insert through 127.0.0.1:${VIP_PORT}: ${statement}`);
  try {
    await run();
    throw new Error('the long insert finished before the failover cut it: nothing to show');
  } catch (error) {
    const failedAt = Date.now();
    const message = messageOf(error);
    say('client', `ERROR: ${message}`);
    for (let attempt = 1; attempt <= 240; attempt++) {
      await sleep(500);
      const resubmittedAt = Date.now();
      try {
        await run();
        say(
          'client',
          `resubmitted the insert ${((resubmittedAt - failedAt) / 1000).toFixed(1)} s after the error (attempt ${attempt}); it committed`,
        );
        return { failedAt, error: message, resubmittedAt, attempts: attempt };
      } catch (retryError) {
        if (attempt % 4 === 1) say('client', `reconnect attempt ${attempt} failed: ${messageOf(retryError)}`);
      }
    }
    throw new Error('the client could not write again within 2 minutes');
  }
}

export async function runDemo(patroni: PatroniMajor): Promise<void> {
  if (labStateExists(VIP_PORT)) throw new LabError('a lab already runs on port 5000: run `failover lab down` first');
  say('demo', `the failover guide, live: Patroni ${patroni}, etcd, three PostgreSQL nodes and HAProxy on 127.0.0.1`);
  const lab = await labUp({ patroni, scope: 'denemek', ports: GUIDE_PORTS, timings: GUIDE_TIMINGS }, (line) => say('lab', line));
  const aws = await startLocalAws();
  const events: ClusterEvent[] = [];
  let alerts = 0;
  try {
    process.env.DEMO_VIP_PASSWORD = LAB_CREDENTIALS.superuser.password;
    const config = validateConfig({
      clusters: [
        {
          name: 'denemek',
          scope: 'denemek',
          members: GUIDE_PORTS.restApi.map((port) => `http://127.0.0.1:${port}`),
          vip: {
            host: '127.0.0.1',
            port: VIP_PORT,
            database: 'postgres',
            user: 'postgres',
            passwordEnv: 'DEMO_VIP_PASSWORD',
            probeMembersDirectly: true,
          },
          haproxy: labHaproxyConfig(lab.state.options),
        },
      ],
      poll: { intervalSeconds: 1 },
    });
    say('demo', `pipeline: poller every 1 s -> DynamoDB (moto at ${aws.endpoint}) -> stream -> notifier -> SNS + write probe`);
    const watchedFrom = Date.now();
    const pipeline = await startLocalPipeline({
      config,
      aws: emulatorTarget(aws, 'moto'),
      log: {
        debug: () => undefined,
        info: () => undefined,
        warn: (m) => say('demo', `warning: ${m}`),
        error: (m, ...e) => say('demo', `error: ${m} ${JSON.stringify(e)}`),
      },
      onRecorded: (event) => {
        events.push(event);
        say('event', `${event.type}: ${describeEvent(event)}`);
      },
      onAlert: (alert) => {
        alerts++;
        say('alert', `SNS ${alert.severity.toUpperCase()}: ${alert.subject}`);
      },
    });
    process.stdout.write(`\nfailover lab status (before)\n${renderLabStatus(await labStatus(VIP_PORT))}\n`);
    await runSql(VIP_PORT, ['CREATE TABLE IF NOT EXISTS failover (test int)']);
    say('client', 'created table failover(test int) through HAProxy');
    const client = longInsertWithRetry();
    await sleep(2_000);
    say('lab', `rebooting the leader ${lab.leader}: graceful stop of its Patroni (what systemd does on a reboot)`);
    const failover = labFailover(VIP_PORT, 'stop');
    const [clientResult, failoverResult] = await Promise.all([client, failover]);
    say('lab', `new leader ${failoverResult.newLeader} on timeline ${failoverResult.newTimeline}`);
    const verified = await waitForVerdict(events);
    await sleep(2_000);
    process.stdout.write(`\nfailover lab status (after)\n${renderLabStatus(await labStatus(VIP_PORT))}\n`);
    await pipeline.stop();
    summarise(verified, clientResult, events.length, alerts);
    const period = { start: watchedFrom - 5_000, end: Date.now() };
    printSla((await clusterReport({ store: pipeline.store, clock: Date.now }, 'denemek', period, DEFAULT_SLO)).report);
  } finally {
    await aws.stop();
    say('lab', 'taking the lab down');
    await labDown(VIP_PORT);
    say('demo', `done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

async function waitForVerdict(events: ClusterEvent[]): Promise<ClusterEvent> {
  for (let i = 0; i < 600; i++) {
    const verdict = events.find((e) => e.type === 'write_verified' || e.type === 'write_unavailable');
    if (verdict) return verdict;
    await sleep(200);
  }
  throw new Error('no write verdict within 2 minutes');
}

function summarise(
  verdict: ClusterEvent,
  client: { error: string; failedAt: number; resubmittedAt: number },
  eventCount: number,
  alerts: number,
): void {
  process.stdout.write('\nWhat happened\n');
  process.stdout.write(`  client saw:        ${client.error}\n`);
  process.stdout.write(
    `  client was back:   its resubmitted insert started ${((client.resubmittedAt - client.failedAt) / 1000).toFixed(1)} s after its error and committed (it retried every 0.5 s)\n`,
  );
  if (verdict.type === 'write_verified') {
    const { downtimeMinMs, downtimeMaxMs } = verdict.outage;
    process.stdout.write(
      `  writes restored:   ${verdict.restoredAt} on ${verdict.servedBy.address}:${verdict.servedBy.port} (timeline ${verdict.servedBy.timeline})\n`,
    );
    process.stdout.write(
      `  write outage:      between ${(downtimeMinMs / 1000).toFixed(1)} s and ${(downtimeMaxMs / 1000).toFixed(1)} s (measured by a real write through the VIP, restored for good)\n`,
    );
    if (verdict.anatomy) printAnatomy(verdict.anatomy);
  } else {
    process.stdout.write(`  writes NOT restored: ${describeEvent(verdict)}\n`);
  }
  process.stdout.write(`  recorded:          ${eventCount} events in DynamoDB, ${alerts} alerts sent to SNS\n\n`);
}

/** `failover sla` over the demo's own minutes (and the 5 s before the watch began, which nobody watched). */
function printSla(report: SlaReport): void {
  const bounds = report.availabilityBoundsPercent;
  process.stdout.write('The SLA of these minutes (failover sla)\n');
  process.stdout.write(
    `  coverage:          ${(100 * report.coverage.fraction).toFixed(1)} % watched (${report.coverage.unwatched.length} unwatched intervals)\n`,
  );
  process.stdout.write(
    `  availability:      ${percent(report.availabilityPercent)} of the watched time; bounds ${percent(bounds.lower)} - ${percent(bounds.upper)}\n`,
  );
  process.stdout.write(`  verdict:           ${verdictLine(report)}\n\n`);
}

/** Where the seconds went, phase by phase, and the prediction from the lab's own settings. */
function printAnatomy(anatomy: IncidentAnatomy): void {
  process.stdout.write(`  cause:             ${causeWords(anatomy.cause.kind)} (${anatomy.cause.detail})\n`);
  for (const phase of anatomy.phases) {
    process.stdout.write(`    ${(phase.durationMs / 1000).toFixed(1).padStart(5)} s  ${phase.label}\n`);
  }
  const predicted = anatomy.predicted;
  process.stdout.write(
    predicted
      ? `  predicted:         ${(predicted.minMs / 1000).toFixed(1)}-${(predicted.maxMs / 1000).toFixed(1)} s for this cause with these settings (${predicted.formula})${anatomy.longerThanPredicted ? ': LONGER than predicted' : ''}\n`
      : `  predicted:         ${anatomy.predictionNote}\n`,
  );
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('the failover guide live: a lab, the whole pipeline, a leader reboot under a long insert, the measured outage')
    .option('--patroni <major>', "3 = Debian's Patroni 3.0, 4 = Patroni 4.x", (v) => (v === '3' ? 3 : 4) as PatroniMajor, 4 as PatroniMajor)
    .action(async (opts) => runDemo(opts.patroni));
}
