import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { parseStatsCsv, receivesConnections } from '../lambdas/adapters/haproxy/statsCsv.js';
import { PatroniHttp } from '../lambdas/adapters/patroni/http.js';
import { parseClusterView, parseHistory } from '../lambdas/adapters/patroni/parse.js';
import type { ClusterView, ClusterViewMember, HistoryEntry } from '../lambdas/domain/model.js';
import { restUrl } from './daemons.js';
import { waitFor } from './processes.js';
import { writeSucceeds } from './sql.js';
import { LAB_CREDENTIALS, LAB_HOST } from './templates.js';
import { tlsFiles } from './tls.js';
import { type LabOptions, labDirectory, MEMBER_NAMES } from './topology.js';

/** The lab's own client of the REST API: trusts the lab's CA and sends basic auth when the lab runs with TLS. */
export function labHttp(options: LabOptions, timeoutMs: number): PatroniHttp {
  if (!options.tls) return new PatroniHttp({ timeoutMs });
  return new PatroniHttp({ timeoutMs, caFile: tlsFiles(labDirectory(options.ports.haproxy)).caCert, basicAuth: LAB_CREDENTIALS.restApi });
}

/** `/cluster` from the first member that answers, or null when none does. */
export async function readClusterView(options: LabOptions, http: PatroniHttp): Promise<ClusterView | null> {
  for (let i = 0; i < MEMBER_NAMES.length; i++) {
    const reply = await http.getJson(restUrl(options, i, '/cluster'));
    if (reply.ok) return parseClusterView(reply.body, restUrl(options, i, '/cluster'));
  }
  return null;
}

/**
 * Polls `/cluster` until `pick` finds what it waits for; on time-out the error shows the last view seen.
 * Every lab wait on the cluster's shape goes through here.
 */
export async function waitForView<T>(
  options: LabOptions,
  http: PatroniHttp,
  what: string,
  timeoutMs: number,
  intervalMs: number,
  pick: (view: ClusterView | null) => T | undefined | Promise<T | undefined>,
  hint = '',
): Promise<T> {
  let last: ClusterView | null = null;
  return waitFor(
    what,
    timeoutMs,
    intervalMs,
    async () => {
      last = await readClusterView(options, http);
      return pick(last);
    },
    () => `${describeView(last)}${hint}`,
  );
}

/**
 * Reads `/cluster` every 100 ms (at most `maxPolls` times) and resolves with the first leader other than
 * `oldLeader` and when it was seen, or null. Benchmarks and tests time the pipeline against it.
 */
export async function watchForNewLeader(
  options: LabOptions,
  http: PatroniHttp,
  oldLeader: string,
  maxPolls = 600,
): Promise<{ at: number; leader: string } | null> {
  for (let i = 0; i < maxPolls; i++) {
    const leader = leaderOf(await readClusterView(options, http).catch(() => null))?.name;
    if (leader && leader !== oldLeader) return { at: Date.now(), leader };
    await sleep(100);
  }
  return null;
}

export function leaderOf(view: ClusterView | null): ClusterViewMember | undefined {
  return view?.members.find((m) => m.role === 'leader');
}

/** The leader as `/cluster` of the first member that answers shows it; undefined when none answers or there is none. */
export async function readLeader(options: LabOptions, http: PatroniHttp): Promise<ClusterViewMember | undefined> {
  return leaderOf(await readClusterView(options, http));
}

/** `/history` from the first member that answers, or null when none does. */
export async function readHistory(options: LabOptions, http: PatroniHttp): Promise<HistoryEntry[] | null> {
  for (let i = 0; i < MEMBER_NAMES.length; i++) {
    const reply = await http.getJson(restUrl(options, i, '/history'));
    if (reply.ok) return parseHistory(reply.body, restUrl(options, i, '/history'));
  }
  return null;
}

function describeView(view: ClusterView | null): string {
  if (!view) return 'no member answered /cluster';
  return view.members.map((m) => `${m.name} ${m.role}/${m.state} tl ${m.timeline ?? '-'}`).join(', ') || 'no members';
}

/** Waits until a leader runs and both replicas stream from it: what `patronictl list` shows for a healthy cluster. */
export async function waitHealthy(options: LabOptions, http: PatroniHttp, timeoutMs: number): Promise<ClusterView> {
  return waitForView(options, http, 'a leader with both replicas streaming', timeoutMs, 500, async (view) => {
    const leader = leaderOf(view);
    if (!view || !leader || leader.state !== 'running' || leader.timeline === null) return undefined;
    const healthyReplicas = view.members.filter(
      (m) => m.role !== 'leader' && (m.state === 'streaming' || m.state === 'running') && m.timeline === leader.timeline,
    );
    // Patroni 3.0.2 shows replicas as `running`; ask the leader's /patroni for real streaming connections.
    const status = await http.getJson(`${leader.apiUrl ?? restUrl(options, 0, '/patroni')}`);
    const streaming = status.ok
      ? ((status.body as { replication?: { state?: string }[] }).replication ?? []).filter((r) => r.state === 'streaming')
      : [];
    return healthyReplicas.length === 2 && streaming.length === 2 ? view : undefined;
  });
}

/**
 * A replica fit to take over: streaming on the leader's timeline, least lag first. Patroni 3.0.2 can leave a
 * replica on an old timeline until it restarts it, and a switchover to such a member does not happen; waits up to
 * 60 s for a fit one rather than asking Patroni for the impossible.
 */
export async function healthyCandidate(options: LabOptions, http: PatroniHttp): Promise<string> {
  return waitForView(options, http, "a replica streaming on the leader's timeline to hand over to", 60_000, 500, (view) => {
    const leader = leaderOf(view);
    const fit = (view?.members ?? [])
      .filter(
        (m) => m.role !== 'leader' && ['running', 'streaming'].includes(m.state) && m.timeline === leader?.timeline && m.lagBytes !== null,
      )
      .sort((a, b) => a.lagBytes! - b.lagBytes!);
    return fit[0]?.name;
  });
}

export async function waitWritable(options: LabOptions, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(`a write through HAProxy on ${LAB_HOST}:${options.ports.haproxy} to succeed`, timeoutMs, 100, async () =>
    (await writeSucceeds(options.ports.haproxy)) ? true : undefined,
  );
  return Date.now() - started;
}

/**
 * HAProxy marks a server down only after `fall` failed checks (and starts with every server up): until then it
 * still sends some connections to a read-only node. The lab returns once HAProxy routes to the leader alone.
 * A server failing its checks reads "UP 1/3", "UP 2/3" meanwhile, and still gets connections: counted as up, or
 * a switchover's demoted leader got the next client (seen in CI: "in recovery", and a TLS handshake cut off).
 */
export async function waitRoutedTo(options: LabOptions, leader: string): Promise<void> {
  let servers = new Map<string, string>();
  const routed = () => [...servers].filter(([, status]) => receivesConnections(status)).map(([name]) => name);
  await waitFor(
    `HAProxy to route to ${leader} alone`,
    30_000,
    250,
    async () => {
      servers = await haproxyServers(options);
      const names = routed();
      return names.length === 1 && names[0] === leader && servers.get(leader) === 'UP' ? true : undefined;
    },
    () => `servers: ${[...servers].map(([name, status]) => `${name} ${status}`).join(', ') || 'none'}`,
  );
}

export async function postmasterStartTime(http: PatroniHttp, url: string): Promise<string | null> {
  const reply = await http.getJson(url);
  return reply.ok ? ((reply.body as { postmaster_start_time?: string }).postmaster_start_time ?? null) : null;
}

/** HAProxy's own view: stats page CSV, one row per server with its check status. */
export async function haproxyServers(options: LabOptions): Promise<Map<string, string>> {
  const servers = new Map<string, string>();
  try {
    const response = await request(`http://${LAB_HOST}:${options.ports.haproxyStats}/;csv`, {
      signal: AbortSignal.timeout(2_000),
    });
    const parsed = parseStatsCsv(await response.body.text());
    for (const server of parsed.ok ? parsed.value : []) {
      if (server.proxy === 'postgres' && MEMBER_NAMES.includes(server.name as never)) servers.set(server.name, server.status);
    }
  } catch {
    // HAProxy down: every server shows as "unknown", which is the truth.
  }
  return servers;
}
