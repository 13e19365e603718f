// Simulated Patroni members for the poll-scale benchmark: one tiny HTTP server per member, each on its own
// loopback address (127.0.x.y:8008, as real members have their own hosts), serving bodies recorded from real
// Patroni 3.0.2 and 4.1.5 labs. Runs in its own process so that its CPU is not counted as the poller's.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { firstMessageOf, runsAsItsOwnProcess } from './ownProcess.js';

interface Options {
  readonly clusters: number;
  readonly latencyMs: number;
  /** Members that accept the connection and never answer, as a hung Patroni does. */
  readonly silentMembers: number;
}

/** Each simulated reply's delay, as a member on the same network answers. */
export const LATENCY_MS = 2;

/**
 * In a storm, how long after the leaders stop answering pg_node2 takes the lock. Patroni never has two primaries at
 * once (a new leader takes the lock only once the old one has lost it, after its ttl in the field); a simulated
 * takeover in the same instant let a poll under way read the old leader's reply from just before and pg_node2's
 * from just after, and report a split brain no Patroni cluster can show.
 */
export const TAKEOVER_MS = 500;

const fixtures = (major: 3 | 4) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'test', 'support', 'fixtures', 'patroni', `recorded-${major}.json`), 'utf8'));
const v3 = fixtures(3);
const v4 = fixtures(4);

/** Member m of cluster c: 127.<1 + (3c+m) / 250>.<1 + (3c+m) % 250>, port 8008. */
export function memberAddress(cluster: number, member: number): string {
  const n = cluster * 3 + member;
  return `127.${1 + Math.floor(n / 250)}.${1 + (n % 250)}.1`;
}

/** Stands for `dcs_last_seen` in a prepared body: Patroni reports its last DCS read, which moves every loop_wait. */
const DCS_LAST_SEEN = '__dcs_last_seen__';

/** The prepared body with the current second as `dcs_last_seen`, as a member that reads its DCS reports it. */
function withDcsLastSeen(body: string): string {
  return body.replace(`"${DCS_LAST_SEEN}"`, String(Math.floor(Date.now() / 1000)));
}

/** The cluster before a storm (pg_node1 leads, timeline 1) or after it (pg_node1 gone, pg_node2 leads, timeline 2). */
function bodies(cluster: number, member: number, failedOver = false) {
  const recorded = cluster % 2 === 0 ? v4 : v3;
  const leaderIndex = failedOver ? 1 : 0;
  const timeline = failedOver ? 2 : 1;
  const leader = member === leaderIndex;
  const patroni = leader ? (recorded.patroni_primary_running ?? recorded.patroni_master_running) : recorded.patroni_replica_running;
  const view = {
    scope: `c${cluster}`,
    members: [0, 1, 2]
      .filter((m) => !failedOver || m !== 0)
      .map((m) => ({
        name: `pg_node${m + 1}`,
        role: m === leaderIndex ? 'leader' : 'replica',
        state: m === leaderIndex ? 'running' : 'streaming',
        api_url: `http://${memberAddress(cluster, m)}:8008/patroni`,
        host: memberAddress(cluster, m),
        port: 5432,
        timeline,
        lag: 0,
      })),
  };
  const named = {
    ...patroni,
    timeline,
    dcs_last_seen: DCS_LAST_SEEN,
    patroni: { ...patroni.patroni, scope: `c${cluster}`, ...(cluster % 2 === 0 ? { name: `pg_node${member + 1}` } : {}) },
  };
  return { '/patroni': JSON.stringify(named), '/cluster': JSON.stringify(view), '/history': '[]' } as Record<string, string>;
}

async function main(): Promise<void> {
  const options: Options = JSON.parse(process.argv[2] ?? '{}');
  const servers: Server[] = [];
  // 'failover' (from the storm benchmark): every cluster's leader stops answering, and TAKEOVER_MS later pg_node2 takes over.
  let leaderDown = false;
  let failedOver = false;
  for (let c = 0; c < options.clusters; c++) {
    for (let m = 0; m < 3; m++) {
      const before = bodies(c, m);
      const after = bodies(c, m, true);
      // The first `silentMembers` clusters each have a replica that accepts and never answers.
      const hang = c < options.silentMembers && m === 1;
      const server = createServer((req, res) => {
        if (hang) return; // accept, never answer
        if (leaderDown && m === 0) return void req.socket.destroy();
        const body = (failedOver ? after : before)[req.url ?? ''] ?? '{}';
        setTimeout(() => {
          // Patroni answers HTTP/1.0 and closes the connection after each reply.
          res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
          res.end(withDcsLastSeen(body));
        }, options.latencyMs);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(8008, memberAddress(c, m), () => resolve());
      });
      servers.push(server);
    }
  }
  process.send?.({ ready: servers.length });
  // Its parent gone (killed, or its limit reached), nobody will send 'stop': the members go with it.
  process.once('disconnect', () => process.exit(0));
  process.on('message', (message) => {
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
    if (message === 'failover') {
      leaderDown = true;
      setTimeout(() => (failedOver = true), TAKEOVER_MS);
    }
    if (message === 'stop') {
      for (const server of servers) server.close();
      process.exit(0);
    }
  });
}

/** Forks the simulated members of `clusters` clusters and waits until they all listen. */
export async function startMembers(clusters: number, silentMembers = 0): Promise<ChildProcess> {
  const args = [JSON.stringify({ clusters, latencyMs: LATENCY_MS, silentMembers })];
  const { child, message } = firstMessageOf(import.meta.url, args, 'the simulated members', 120_000);
  await message;
  return child;
}

export function stopMembers(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.send('stop');
  });
}

// Imported by the benchmark for `memberAddress` and the helpers above; serves only when forked as a process of its own.
if (runsAsItsOwnProcess(import.meta.url)) await main();
