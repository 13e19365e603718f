import { haproxyServers, labHttp, readClusterView } from './cluster.js';
import { readLabState } from './state.js';
import { LAB_HOST } from './templates.js';
import { MEMBER_NAMES } from './topology.js';

export interface MemberStatusRow {
  readonly name: string;
  readonly host: string;
  readonly role: string;
  readonly state: string;
  readonly timeline: number | null;
  readonly lagBytes: number | null;
  readonly haproxy: string;
}

export interface LabStatus {
  readonly scope: string | null;
  readonly paused: boolean;
  readonly members: readonly MemberStatusRow[];
  /** Members HAProxy currently sends clients to (status UP). */
  readonly haproxyRoutesTo: readonly string[];
}

/** `failover lab status`: what `patronictl list` shows, plus where HAProxy routes. */
export async function labStatus(haproxyPort: number): Promise<LabStatus> {
  const { options } = readLabState(haproxyPort);
  const http = labHttp(options, 2_000);
  try {
    const [view, servers] = await Promise.all([readClusterView(options, http), haproxyServers(options)]);
    const members = MEMBER_NAMES.map((name, i): MemberStatusRow => {
      const m = view?.members.find((v) => v.name === name);
      return {
        name,
        host: `${LAB_HOST}:${options.ports.postgres[i]}`,
        role: m?.role ?? 'absent',
        state: m?.state ?? 'absent',
        timeline: m?.timeline ?? null,
        lagBytes: m?.lagBytes ?? null,
        haproxy: servers.get(name) ?? 'unknown',
      };
    });
    return {
      scope: view?.scope ?? options.scope,
      paused: view?.paused ?? false,
      members,
      haproxyRoutesTo: members.filter((m) => m.haproxy === 'UP').map((m) => m.name),
    };
  } finally {
    await http.close();
  }
}
