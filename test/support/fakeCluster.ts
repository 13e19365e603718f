import { createServer, type Server } from 'node:http';
import { recordedBodies } from './recorded.js';

const v4 = recordedBodies(4);
const NAMES = ['pg_node1', 'pg_node2', 'pg_node3'] as const;

/** What one member serves this instant; a test changes it between polls. */
export interface MemberCue {
  /** Drop every connection without a reply, as a stopped Patroni does. */
  down?: boolean;
  /** Patches the member's own `/patroni` body (a forged name, an absurd timeline, ...). */
  patroni?: (body: Record<string, unknown>) => Record<string, unknown>;
  /** Patches the `/cluster` body this member serves. */
  cluster?: (body: Record<string, unknown>) => Record<string, unknown>;
  /** Answer with this status and a Location header instead (a redirect with a valid body). */
  status?: number;
}

/**
 * A loopback stand-in for a Patroni 4 cluster, for what the real lab cannot produce on cue: hostile and wrong
 * replies. Three members on their own ports serve bodies recorded from a real Patroni 4.1.5 lab, rewritten to
 * name this cluster's own ports; `leader` and `timeline` say who holds the lock on which timeline.
 */
export class FakeCluster {
  leader = 0;
  timeline = 1;
  readonly cues: MemberCue[] = [{}, {}, {}];
  /** What `/config` serves (the DCS's dynamic configuration); unset: 404, as from a member that cannot read it. */
  config: Record<string, unknown> | undefined;
  private readonly servers: Server[] = [];
  private ports: number[] = [];

  async start(): Promise<void> {
    for (let i = 0; i < NAMES.length; i++) {
      const server = createServer((req, res) => {
        const cue = this.cues[i]!;
        if (cue.down) return void req.socket.destroy();
        const body =
          req.url === '/config'
            ? this.config
            : req.url === '/cluster'
              ? this.clusterBody(i)
              : req.url === '/patroni'
                ? this.patroniBody(i)
                : null;
        if (!body) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(cue.status ?? 200, {
          'content-type': 'application/json',
          ...(cue.status ? { location: 'http://127.0.0.1:1/' } : {}),
        });
        res.end(JSON.stringify(body));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.servers.push(server);
    }
    this.ports = this.servers.map((s) => (s.address() as { port: number }).port);
  }

  /** The members' REST base URLs, for a configuration file. */
  get urls(): string[] {
    return this.ports.map((port) => `http://127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    for (const server of this.servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private patroniBody(i: number): Record<string, unknown> {
    const recorded = i === this.leader ? v4.patroni_primary_running! : v4.patroni_replica_running!;
    // A member that reads its DCS reports the last read: it moves every loop_wait (a frozen one is a lost DCS).
    const body = {
      ...recorded,
      timeline: this.timeline,
      dcs_last_seen: Math.floor(Date.now() / 1000),
      patroni: { ...(recorded.patroni as object), name: NAMES[i] },
    };
    return this.cues[i]!.patroni?.(body) ?? body;
  }

  private clusterBody(i: number): Record<string, unknown> {
    const recorded = v4['cluster_leader-running+replica-streaming+replica-streaming']!;
    const members = (recorded.members as Record<string, unknown>[]).map((m, j) => ({
      ...m,
      name: NAMES[j],
      role: j === this.leader ? 'leader' : 'replica',
      state: j === this.leader ? 'running' : 'streaming',
      api_url: `${this.urls[j]}/patroni`,
      timeline: this.timeline,
    }));
    const body = { ...recorded, members };
    return this.cues[i]!.cluster?.(body) ?? body;
  }
}
