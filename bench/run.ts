// `npm run bench`: poll scale against simulated Patroni members, detector throughput and steady-state store
// writes, each next to a baseline measured in the same run. Writes bench/results/latest.json and
// docs/benchmarks.md. Not part of `npm test`: these machines are shared and noisy, so figures are ratios.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PatroniClient } from '../lambdas/adapters/patroni/PatroniClient.js';
import type { ClusterState } from '../lambdas/domain/clusterState.js';
import { detect } from '../lambdas/domain/detector.js';
import type { EventStore } from '../lambdas/domain/ports.js';
import { ClusterWatcher } from '../lambdas/services/poller/ClusterWatcher.js';
import { type AwsPathRow, awsPathMarkdown, awsPathRuns } from './awsPath.js';
import { type EndToEndRow, endToEnd } from './endToEnd.js';
import { failoverObservation, steadyObservation } from './observations.js';
import { pollScaleInItsOwnProcess, type ScaleResult, targets } from './pollRound.js';
import { type ReportReads, reportReads, reportReadsMarkdown } from './reports.js';
import { LATENCY_MS, startMembers, stopMembers } from './simulatedPatroni.js';
import { type StormRow, stormInItsOwnProcess, stormMarkdown } from './storm.js';

const ROOT = join(import.meta.dirname, '..');

/** One of 100 clusters has a member that never answers: the round should end at the 3 s timeout, no later. */
async function silentMember(): Promise<{ roundMs: number; timeoutMs: number; healthyClusterMs: number }> {
  const child = await startMembers(100, 1);
  try {
    const list = targets(100);
    const client = new PatroniClient(Date.now, { timeoutMs: 3_000 });
    let healthyClusterMs = 0;
    const started = performance.now();
    await Promise.all(
      list.map(async (t, i) => {
        await client.observe(t, null);
        if (i === 50) healthyClusterMs = performance.now() - started; // cluster 0 has the silent member
      }),
    );
    const roundMs = performance.now() - started;
    await client.close();
    return { roundMs, timeoutMs: 3_000, healthyClusterMs };
  } finally {
    await stopMembers(child);
  }
}

/** Observations per second through the detector: a steady poll and a failover, alternating. */
function detectorThroughput(): { perSecond: number; baselinePerSecond: number; ratio: number } {
  const steady = steadyObservation(0);
  const failover = failoverObservation(0);
  let state: ClusterState = detect(null, steady).state;
  const rounds = 200_000;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    const obs = i % 2 === 0 ? { ...steady, observedAt: i * 1000 } : { ...failover, observedAt: i * 1000 };
    state = detect(i % 100 === 0 ? null : state, obs).state;
  }
  const detectorMs = performance.now() - started;
  // Baseline: the cheapest thing a poller must do with an observation anyway, a structured copy of it.
  const baselineStart = performance.now();
  for (let i = 0; i < rounds; i++) structuredClone(i % 2 === 0 ? steady : failover);
  const baselineMs = performance.now() - baselineStart;
  return { perSecond: rounds / (detectorMs / 1000), baselinePerSecond: rounds / (baselineMs / 1000), ratio: baselineMs / detectorMs };
}

/** Store writes of one cluster polled every second for ten steady minutes. */
async function steadyStateWrites(): Promise<{ polls: number; writes: number; writesPerMinute: number }> {
  let writes = 0;
  let state: ClusterState | null = null;
  const store: EventStore = {
    loadState: async () => state,
    commit: async (_v, next) => {
      writes++;
      state = next;
    },
    listEvents: async () => ({ events: [] }),
    listAllEvents: async () => [],
  };
  let now = 0;
  const observer = { observe: async () => steadyObservation(now), close: async () => undefined };
  const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const watcher = new ClusterWatcher({ name: 'denemek', members: [] }, {}, { observer, store, clock: () => now, log: silent });
  const polls = 600;
  for (let i = 0; i < polls; i++) {
    now = i * 1000;
    await watcher.pollOnce();
  }
  return { polls, writes, writesPerMinute: writes / (polls / 60) };
}

/** Prices used for the cost table (us-east-1; check them against the current price list). */
const PRICES = { lambdaGbSecond: 0.0000133334, lambdaRequest: 0.2e-6, dynamoWriteUnit: 0.625e-6, crossAzGb: 0.02, snsPublish: 0.5e-6 };
const SECONDS_PER_MONTH = 30 * 86_400;

/**
 * Monthly cost from measured figures: a 512 MB poller per 100 clusters awake 58 s of every minute (a 100-cluster
 * round was measured well under 1 s, so one shard keeps a 1 s interval), the measured steady writes per cluster
 * (two units each: a transaction), two of three members' replies (their measured size) crossing AZs, alerts at
 * the measured count per failover for one failover per cluster a week.
 */
function costTable(writesPerMinute: number, replyBytes: number, alertsPerFailover: number): string {
  const rows = [10, 100, 1000].flatMap((clusters) =>
    [1, 5].map((interval) => {
      const shards = Math.ceil(clusters / 100);
      const lambda = shards * (0.5 * 58 * 60 * 24 * 30 * PRICES.lambdaGbSecond + 43_200 * PRICES.lambdaRequest);
      const dynamo = clusters * writesPerMinute * 60 * 24 * 30 * 2 * PRICES.dynamoWriteUnit;
      // Four replies a poll (three /patroni, one /cluster); two members of three in another AZ.
      const transfer = ((clusters * ((4 * 2) / 3) * replyBytes * (SECONDS_PER_MONTH / interval)) / 1e9) * PRICES.crossAzGb;
      const sns = clusters * 4.3 * alertsPerFailover * PRICES.snsPublish;
      const total = lambda + dynamo + transfer + sns;
      return `| ${clusters} | ${interval} s | ${shards} | $${lambda.toFixed(2)} | $${dynamo.toFixed(2)} | $${transfer.toFixed(2)} | $${sns.toFixed(4)} | **$${total.toFixed(2)}** | $${(total / clusters).toFixed(3)} |`;
    }),
  );
  return `
## Monthly cost from the measured figures

Prices: Lambda arm64 $${PRICES.lambdaGbSecond} per GB-second and $0.20 per million requests; DynamoDB on-demand $0.625 per million
write units; cross-AZ transfer $0.01 per GB each way; SNS $0.50 per million publishes. Measured here: ${writesPerMinute.toFixed(2)} store
writes per cluster a minute in steady state, ${replyBytes} bytes per Patroni reply (a recorded 4.x \`/patroni\`), ${alertsPerFailover} alerts per
failover (kill -9 on the lab). CloudWatch metrics, alarms, dashboard and the key add about $5.40 a month whatever the fleet.

| clusters | interval | pollers | Lambda | DynamoDB | transfer | SNS | total a month | per cluster |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
}

function endToEndMarkdown(rows: readonly EndToEndRow[]): string {
  if (rows.length === 0) return '';
  const lines = rows
    .map(
      (r) =>
        `| ${r.profile} | ${r.mode} | ${(r.detection1sMs / 1000).toFixed(2)} | ${(r.detection15sMs / 1000).toFixed(2)} | **${(r.detection15sMs / Math.max(r.detection1sMs, 100)).toFixed(1)}×** | ${(r.alertAfterEventMs / 1000).toFixed(2)} | ${r.restoreErrorMs >= 0 ? '+' : ''}${r.restoreErrorMs.toFixed(0)} | ${r.writerOutageS.toFixed(2)} |`,
    )
    .join('\n');
  return `
## End to end on the lab (Patroni 4), on both timing profiles

*fast*: ttl 20, loop_wait 2, HAProxy inter 1 s. *field*: Patroni's defaults (ttl 30, loop_wait 10, retry_timeout 10)
behind Patroni's sample HAProxy (inter 3s fall 3 rise 2), what clusters really run. Times from \`/cluster\` first showing the new leader (the bench polls it every 100 ms) to the \`leader_changed\` being in
DynamoDB (moto), for our poller at 1 s and, in the same run, a poller at 15 s (the best anchor's default); from the event
to its alert leaving for SNS; and \`write_verified.restoredAt\` (writes back for good: the start of the probe's final
unbroken run of good writes) against an independent writer's first good write after its last failure through HAProxy
(writes every 100 ms).

| profile | failure | detection, 1 s poller (s) | detection, 15 s poller (s) | 15 s / 1 s | alert after event (s) | restoredAt − writer (ms) | writer's outage (s) |
|---|---|---|---|---|---|---|---|
${lines}

Targets: detection within the poll interval plus 0.3 s; alert within 1 s of the event; write-restore error under 0.3 s.
A negative detection means our poller recorded the change before the bench's own 100 ms \`/cluster\` poll saw it; the
ratio floors the 1 s poller's time at that 100 ms resolution.

`;
}

export function markdown(results: {
  scale: ScaleResult[];
  silent: Awaited<ReturnType<typeof silentMember>>;
  detector: ReturnType<typeof detectorThroughput>;
  writes: Awaited<ReturnType<typeof steadyStateWrites>>;
  endToEnd: EndToEndRow[];
  reads: ReportReads | null;
  storms: StormRow[];
  awsPath: AwsPathRow[];
  replyBytes: number;
  alertsPerFailover: number;
}): string {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}`;
  const rows = results.scale
    .map(
      (r) =>
        `| ${r.clusters} | ${r.requests} | ${r.oursMs.toFixed(0)} | ${r.baselineMs.toFixed(0)} | **${r.speedup.toFixed(1)}×** | ${r.requestsPerSecond.toFixed(0)} | ${r.cpuMs.toFixed(0)} | ${r.simulatorCpuMs.toFixed(0)} | ${r.peakRssMb.toFixed(0)} |`,
    )
    .join('\n');
  const thousand = results.scale.find((r) => r.clusters === 1000);
  const thousandOverBare = thousand ? (thousand.oursMs / thousand.bareUndiciMs).toFixed(2) : 'n/a';
  const bareOverNodeHttp = thousand ? (thousand.bareUndiciMs / thousand.nodeHttpMs).toFixed(2) : 'n/a';
  const hundredMs = results.scale.find((r) => r.clusters === 100)?.oursMs.toFixed(0) ?? 'n/a';
  const nodeHttpSpeedup = thousand ? (thousand.baselineMs / thousand.nodeHttpMs).toFixed(1) : 'n/a';
  const agentOverClients = thousand ? (thousand.undiciAgentMs / thousand.bareUndiciMs).toFixed(2) : 'n/a';
  const floors = results.scale
    .map(
      (r) =>
        `| ${r.clusters} | ${r.oursMs.toFixed(0)} | ${r.bareUndiciMs.toFixed(0)} | ${(r.oursMs / r.bareUndiciMs).toFixed(2)} | ${r.undiciAgentMs.toFixed(0)} | ${r.nodeHttpMs.toFixed(0)} | ${(r.bareUndiciMs / r.nodeHttpMs).toFixed(2)} |`,
    )
    .join('\n');
  return `# Benchmarks

Generated by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${machine}. Shared, noisy machines: compare the
ratios, which are measured against a baseline in the same run, more than the absolute times.

## Poll scale (simulated members)

Each cluster has three simulated Patroni members on their own loopback addresses, answering with bodies recorded from
real Patroni 3.0.2 and 4.1.5 labs after ${LATENCY_MS} ms and closing the connection (as Patroni's HTTP/1.0 server does). One
round reads \`/patroni\` of every member and \`/cluster\` once per cluster. Ours: \`PatroniClient\`, every cluster at once.
Baseline: members one after another, a new connection each time. Each row runs in a process of its own that loads what
a poller loads (its composition, the DynamoDB store and the SDK), so the peak is a poller's; the 1-cluster row shows
that process at rest.

| clusters | requests | ours (ms) | baseline (ms) | speed-up | requests/s | CPU (ms) | simulator CPU (ms) | peak RSS (MB) |
|---|---|---|---|---|---|---|---|---|
${rows}

The transport's floor, same run: the same requests all at once with bare undici (no parsing, no timeout, no checks)
through one \`Client\` per member as ours, through undici's default \`Agent\`, and with node:http without an agent, each
a new connection.

| clusters | ours (ms) | bare undici (ms) | ours / bare undici | bare undici, default Agent (ms) | node:http (ms) | bare undici / node:http |
|---|---|---|---|---|---|---|
${floors}

Targets: 1,000 clusters in at most 1 s a round on 2 cores, at least 20 times the baseline, peak memory under 256 MB.
What limits the 1,000-cluster round (profiled with \`--cpu-prof\`): it is CPU-bound, spread over connection set-up and
tear-down (Patroni closes every connection, so each request is a new TCP connection: \`net\` connect/close, undici's
parser, garbage collection); parsing with zod is about 2 % and the detector is not in the round. undici's default
\`Agent\` closes an origin's pool when its last connection ends, so with Patroni it built and destroyed a pool and a
client for every request; the client now keeps one undici \`Client\` per member (\`ClientPerMember\`), and in this run
bare undici through the \`Agent\` took ${agentOverClients} times as long as through it. By hand, in a process of its own,
the 1,000-cluster round went from a median of 891-991 ms to 725-783 ms and its peak from 443-705 MB to 339-340 MB.
In the floor table, at 1,000 clusters our client took ${thousandOverBare} times bare undici's time for the same requests
(the checks, parsing and timeouts are not what limits it), and bare undici took ${bareOverNodeHttp} times the time of
node:http without an agent. What is left of undici's cost is mostly one error object per request:
undici ends each closed connection with an \`InformationalError\`, and Node's stream \`destroy\` reads its \`stack\`.
By hand, in the round's own process: 742 ms as measured, 570 ms with \`--stack-trace-limit=0\` (18.2× the baseline),
679 ms with a limit of 3, and 729 ms with source maps turned off: the cost is capturing the stack, not source maps.
The local poller thread runs without stack traces (it never shows one: its log lines cross to the main thread as
JSON, an error as its message; by hand, 500 clusters failing over at 1 s took 0.71-0.74 of a core for the pipeline
against 0.85-0.89 with them, recording p95 3.3-3.6 s against 3.8-4.3 s). The poller Lambda keeps them, for its logs,
and this round measures the client as the Lambda runs it. At the 100 clusters a poller serves on AWS (\`aws.clustersPerPoller\`) the round took
${hundredMs} ms, so 1,000 clusters are ten functions well inside the target. The simulated members use the other core (the
simulator CPU column), so spreading our round over worker threads could at best share out the same CPU between two busy
cores on this machine: not built. node:http's bare round (nothing but the requests) was ${nodeHttpSpeedup} times the
baseline in this run: the 20× target is at the transport's floor on these 2 cores. Tried and dropped: disabling keep-alive
(undici \`pipelining: 0\`, no change), bounding requests in flight (1,024 or 256 at once: 20-25 % slower, about 2 %
less memory). The peak memory is mostly garbage that V8 collects lazily in a CPU-bound round: after a full GC
the live heap was 18 MB. A heap cap trades it for time: by hand, \`--max-old-space-size=128\` gave a 216 MB peak and
an 821 ms round in the benchmark's process, but in the round's own process, with the poller's modules loaded, the
same cap had not finished the round after two minutes. A smaller young generation helped little: by hand,
\`--max-semi-space-size=2\` peaked at 267 MB against 288-291 MB.

One member of 100 clusters never answers: the round took ${results.silent.roundMs.toFixed(0)} ms with a ${results.silent.timeoutMs} ms timeout,
and a healthy cluster's observation was ready after ${results.silent.healthyClusterMs.toFixed(0)} ms: each cluster runs its own
loop in the poller, so the silent one delays nobody else.

## Detector and store

| measure | ours | baseline | ratio |
|---|---|---|---|
| observations through the detector per second | ${results.detector.perSecond.toFixed(0)} | ${results.detector.baselinePerSecond.toFixed(0)} (structured copy of the observation) | ${results.detector.ratio.toFixed(2)} |
| store writes per minute, one cluster polled every second, steady | ${results.writes.writesPerMinute.toFixed(2)} (${results.writes.writes} in ${results.writes.polls} polls) | 60 (a write per poll) | ${(60 / results.writes.writesPerMinute).toFixed(0)}× fewer |
${endToEndMarkdown(results.endToEnd)}${results.storms.length > 0 ? stormMarkdown(results.storms) : ''}${awsPathMarkdown(results.awsPath)}${reportReadsMarkdown(results.reads)}${costTable(results.writes.writesPerMinute, results.replyBytes, results.alertsPerFailover)}`;
}

async function main(): Promise<void> {
  const scale: ScaleResult[] = [];
  for (const clusters of [1, 10, 100, 1000]) {
    process.stderr.write(`poll scale: ${clusters} clusters\n`);
    scale.push(await pollScaleInItsOwnProcess(clusters));
  }
  process.stderr.write('one silent member\n');
  const silent = await silentMember();
  const detector = detectorThroughput();
  const writes = await steadyStateWrites();
  // The lab part needs `npm run setup`; `npm run bench -- --no-lab` skips it.
  const withLab = !process.argv.includes('--no-lab');
  if (withLab) process.stderr.write('end to end on the lab\n');
  const e2e = withLab ? [...(await endToEnd('fast')), ...(await endToEnd('field'))] : [];
  // `npm run bench -- --no-storm` skips the storms (minutes each at 1,000 clusters).
  const storms: StormRow[] = [];
  if (!process.argv.includes('--no-storm')) {
    // The targets are 500 clusters at 1 s and at 5 s; 100 and 1,000 frame them.
    for (const [clusters, interval] of [
      [100, 1],
      [500, 1],
      [500, 5],
      [1000, 1],
    ] as const) {
      process.stderr.write(`storm: ${clusters} clusters, polled every ${interval} s\n`);
      storms.push(await stormInItsOwnProcess(clusters, interval));
    }
  }
  // The notifier on the simulated AWS path: in memory, a few minutes in all.
  process.env.BENCH_PAGERDUTY_KEY ??= 'simulated-pagerduty-routing-key';
  const awsPath = await awsPathRuns();
  // Seeding 1,000 clusters × 13 months into moto takes minutes; `npm run bench -- --no-reports` skips it.
  const reads = process.argv.includes('--no-reports') ? null : await reportReads();
  const recorded4 = JSON.parse(readFileSync(join(ROOT, 'test', 'support', 'fixtures', 'patroni', 'recorded-4.json'), 'utf8'));
  const replyBytes = Buffer.byteLength(JSON.stringify(recorded4.patroni_primary_running));
  const alertsPerFailover = e2e.find((r) => r.mode === 'kill' && r.profile === 'fast')?.alertsSent ?? 3;
  const results = { scale, silent, detector, writes, endToEnd: e2e, reads, storms, awsPath, replyBytes, alertsPerFailover };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench', 'results', 'latest.json'),
    `${JSON.stringify({ date: new Date().toISOString(), ...results }, null, 2)}\n`,
  );
  const md = markdown(results);
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(join(ROOT, 'docs', 'benchmarks.md'), md);
  process.stdout.write(md);
}

// Run as a script; imported (to render docs/benchmarks.md again from bench/results/latest.json), it only exports.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
