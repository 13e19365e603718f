// One poll round at N clusters, in a process of its own that loads what the poller loads (its composition, with
// the DynamoDB store and the SDK): its peak memory is then a poller's, not the benchmark's, which also holds the
// storm, AWS-path and report modules and what its earlier parts left in the heap. Next to it, in the same process
// and run: the sequential baseline and the transport's floor (bare undici, node:http).
import type { ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { Agent, type Dispatcher, request } from 'undici';
import { ClientPerMember } from '../lambdas/adapters/patroni/clientPerMember.js';
import { PatroniClient } from '../lambdas/adapters/patroni/PatroniClient.js';
import type { ClusterTarget } from '../lambdas/domain/ports.js';
import { firstMessageOf, runsAsItsOwnProcess, sendAndExit } from './ownProcess.js';
import { memberAddress, startMembers, stopMembers } from './simulatedPatroni.js';

export interface ScaleResult {
  clusters: number;
  requests: number;
  oursMs: number;
  baselineMs: number;
  speedup: number;
  requestsPerSecond: number;
  cpuMs: number;
  /** CPU the simulated members spent serving our round: the other core's share of the machine. */
  simulatorCpuMs: number;
  peakRssMb: number;
  /** The same requests all at once with bare undici and with node:http (a new connection each): the transport's floor. */
  bareUndiciMs: number;
  /** Bare undici again through its default Agent, which our client used before it kept one Client per member. */
  undiciAgentMs: number;
  nodeHttpMs: number;
}

/** CPU time the simulated members' process has used so far, in ms. */
function simulatorCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (message: { cpu: NodeJS.CpuUsage }) => resolve((message.cpu.user + message.cpu.system) / 1000));
    child.send('cpu');
  });
}

function roundUrls(list: readonly ClusterTarget[]): string[] {
  return list.flatMap((t) => [...t.members.map((m) => `${m}/patroni`), `${t.members[0]}/cluster`]);
}

/** Every request of a round at once, bare undici (no parsing, no timeouts, no checks): what our client adds to. */
async function bareUndiciRound(list: readonly ClusterTarget[], dispatcher: Dispatcher): Promise<void> {
  await Promise.all(roundUrls(list).map(async (url) => (await request(url, { dispatcher })).body.text().catch(() => '')));
}

/** Every request of a round at once with node:http and no agent: the other HTTP client Node ships. */
async function nodeHttpRound(list: readonly ClusterTarget[]): Promise<void> {
  await Promise.all(roundUrls(list).map((url) => fetchWithNodeHttp(url)));
}

function fetchWithNodeHttp(url: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = get(url, { agent: false, timeout: 3_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', () => resolve());
    req.on('timeout', () => req.destroy());
  });
}

/** A bare undici round through `dispatcher`, after a warm-up round as ours had. */
async function warmThenTimed(list: readonly ClusterTarget[], dispatcher: Dispatcher): Promise<number> {
  await bareUndiciRound(list, dispatcher);
  const ms = await timed(() => bareUndiciRound(list, dispatcher));
  await dispatcher.close();
  return ms;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export function targets(clusters: number): ClusterTarget[] {
  return Array.from({ length: clusters }, (_, c) => ({
    name: `c${c}`,
    members: [0, 1, 2].map((m) => `http://${memberAddress(c, m)}:8008`),
  }));
}

/** Samples RSS while `work` runs: the peak, in MB. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    const value = await work();
    return { value, peakMb: Math.max(peak, process.memoryUsage().rss) / 1024 / 1024 };
  } finally {
    clearInterval(timer);
  }
}

/** The naive poller: members one after another, a new connection for each request. */
async function naiveRound(list: readonly ClusterTarget[]): Promise<void> {
  for (const url of roundUrls(list)) await fetchWithNodeHttp(url);
}

async function pollScale(clusters: number): Promise<ScaleResult> {
  const child = await startMembers(clusters);
  try {
    const list = targets(clusters);
    const client = new PatroniClient(Date.now, { timeoutMs: 3_000 });
    await Promise.all(list.map((t) => client.observe(t, null))); // warm-up
    const cpuBefore = process.cpuUsage();
    const simulatorBefore = await simulatorCpu(child);
    const started = performance.now();
    const { peakMb } = await withPeakRss(() => Promise.all(list.map((t) => client.observe(t, null))));
    const oursMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const simulatorCpuMs = (await simulatorCpu(child)) - simulatorBefore;
    await client.close();
    const baselineMs = await timed(() => naiveRound(list));
    const bareUndiciMs = await warmThenTimed(list, new ClientPerMember({}));
    const undiciAgentMs = await warmThenTimed(list, new Agent());
    const nodeHttpMs = await timed(() => nodeHttpRound(list));
    const requests = clusters * 4;
    return {
      clusters,
      requests,
      oursMs,
      baselineMs,
      speedup: baselineMs / oursMs,
      requestsPerSecond: requests / (oursMs / 1000),
      cpuMs: (cpu.user + cpu.system) / 1000,
      simulatorCpuMs,
      peakRssMb: peakMb,
      bareUndiciMs,
      undiciAgentMs,
      nodeHttpMs,
    };
  } finally {
    await stopMembers(child);
  }
}

/** The simulated members' start, our round, the baselines and the floor: minutes at most. */
const ROUND_PROCESS_LIMIT_MS = 10 * 60_000;

export function pollScaleInItsOwnProcess(clusters: number): Promise<ScaleResult> {
  return firstMessageOf<ScaleResult>(import.meta.url, [String(clusters)], `the ${clusters}-cluster poll round`, ROUND_PROCESS_LIMIT_MS)
    .message;
}

// Imported by the benchmark; measures only when forked as a process of its own (`pollScaleInItsOwnProcess`).
if (runsAsItsOwnProcess(import.meta.url)) {
  // What a poller process holds besides the client: its composition, the store and the SDK.
  await import('../lambdas/wiring/poller.js');
  sendAndExit(await pollScale(Number(process.argv[2])));
}
