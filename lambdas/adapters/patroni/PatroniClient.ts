import type { Observed, PatroniSettings } from '../../domain/anatomy.js';
import { highestTimeline } from '../../domain/detector.js';
import { messageOf } from '../../domain/errors.js';
import {
  type ClusterView,
  type HaSettings,
  type HistoryEntry,
  type MemberObservation,
  memberHost,
  type Observation,
} from '../../domain/model.js';
import type {
  Clock,
  ClusterObserver,
  ClusterSettingsReader,
  ClusterTarget,
  KnownPosition,
  LeaderLocator,
  MemberAddress,
  PatroniAccess,
} from '../../domain/ports.js';
import { PatroniHttp } from './http.js';
import { parseClusterView, parseHaSettings, parseHistory, parseMemberReport, parseSettings } from './parse.js';

/**
 * Reads one cluster through Patroni's REST API: `/patroni` of every member in parallel, `/cluster` from a
 * member that answers, `/history` when the timeline moved. Never throws: each member ends with an explicit
 * status, and a missing `/cluster` or `/history` is recorded as such.
 */
export class PatroniClient implements ClusterObserver, ClusterSettingsReader, LeaderLocator {
  private readonly clients = new Map<string, PatroniHttp>();

  /**
   * @param clock stamps each observation; the detector never reads a clock itself
   * @param defaults HTTP options of every cluster, overridden per cluster by its target
   * @param makeHttp builds one HTTP client per cluster (tests pass one over undici's MockAgent)
   */
  constructor(
    private readonly clock: Clock = Date.now,
    private readonly defaults: PatroniAccess = {},
    private readonly makeHttp: (options: PatroniAccess) => PatroniHttp = (options) => new PatroniHttp(options),
  ) {}

  async observe(target: ClusterTarget, known: KnownPosition | null): Promise<Observation> {
    const http = this.httpFor(target);
    const startedAt = this.clock();
    // `/cluster` from the first member is read alongside the `/patroni` reads so that a healthy poll is one round trip.
    const [members, firstView, settings] = await Promise.all([
      Promise.all(target.members.map((url) => readMember(http, url))),
      readView(http, target.members[0]!),
      known?.readSettings ? readHaSettings(http, target.members[0]!) : undefined,
    ]);
    // A failover poll would otherwise be three round trips one after another: `/history` starts as soon as the
    // members' own reports show the new timeline, alongside asking the others for the `/cluster` the first one lost.
    const reported = highestTimeline(null, members);
    const earlyHistory = timelineMoved(known, reported) ? readHistory(http, members, target.members) : null;
    const [view, haSettings] = await Promise.all([
      firstView.view ? firstView : fallbackView(http, members, target.members[0]!, firstView),
      settings === null ? fallbackSettings(http, members, target.members[0]!) : settings,
    ]);
    const named = nameMembers(members, view.view);
    const timeline = highestTimeline(view.view, named);
    const history = timelineMoved(known, timeline) ? await (earlyHistory ?? readHistory(http, named, target.members)) : null;
    return {
      cluster: target.name,
      observedAt: this.clock(),
      startedAt,
      members: named,
      view: view.view,
      viewError: view.error,
      history,
      ...(haSettings !== undefined && { settings: haSettings }),
    };
  }

  /** `/config` from the first member, in configuration order, that gives one. */
  async readSettings(target: ClusterTarget): Promise<Observed<PatroniSettings>> {
    const http = this.httpFor(target);
    const problems: string[] = [];
    for (const base of target.members) {
      const url = endpoint(base, '/config');
      const reply = await http.getJson(url);
      if (!reply.ok) {
        problems.push(reply.message);
        continue;
      }
      try {
        return { ok: true, value: parseSettings(reply.body, url) };
      } catch (error) {
        problems.push(messageOf(error));
      }
    }
    return { ok: false, note: `/config unreadable: ${problems.join('; ')}` };
  }

  /** The member `/cluster` names leader, running, with the address of its own PostgreSQL. */
  async leaderAddress(target: ClusterTarget): Promise<Observed<MemberAddress>> {
    const http = this.httpFor(target);
    const problems: string[] = [];
    for (const base of target.members) {
      const read = await readView(http, base);
      if (!read.view) {
        problems.push(read.error ?? `${base}: no /cluster`);
        continue;
      }
      const leader = read.view.members.find((m) => m.role === 'leader' && m.state === 'running');
      if (!leader) return { ok: false, note: '/cluster names no running leader yet' };
      if (!leader.host || !leader.port) return { ok: false, note: `/cluster gives no PostgreSQL address for ${leader.name}` };
      return { ok: true, value: { member: leader.name, host: leader.host, port: leader.port } };
    }
    return { ok: false, note: `/cluster unreadable: ${problems.join('; ')}` };
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }

  /**
   * One HTTP client per distinct set of HTTP options, reused across poll rounds: a thousand clusters with the same
   * timeout and no TLS or auth of their own share one (which keeps a connection client per member) instead of a thousand.
   */
  private httpFor(target: ClusterTarget): PatroniHttp {
    const options = { ...this.defaults, ...target.http };
    const key = JSON.stringify(options);
    let http = this.clients.get(key);
    if (!http) {
      http = this.makeHttp(options);
      this.clients.set(key, http);
    }
    return http;
  }
}

/**
 * `/cluster` from the other members that answered, all at once (one timeout in all, not one per member), the
 * first in configuration order that gives a view. None are asked when the first member answered `/patroni` but
 * gave no reply to `/cluster`: its Patroni cannot read the DCS, and then neither can the others (an etcd outage
 * makes every `/cluster` hang for seconds), while the `/patroni` replies already tell the detector what it needs.
 */
async function fallbackView(
  http: PatroniHttp,
  members: readonly MemberObservation[],
  first: string,
  firstView: ViewRead,
): Promise<ViewRead> {
  if (firstView.noReply && members.find((m) => m.url === first)?.status === 'ok') return firstView;
  const others = members.filter((m) => m.status === 'ok' && m.url !== first);
  const views = await Promise.all(others.map((m) => readView(http, m.url)));
  return views.find((v) => v.view) ?? firstView;
}

function timelineMoved(known: KnownPosition | null, timeline: number | null): boolean {
  return known?.timeline != null && timeline !== null && timeline > known.timeline;
}

function endpoint(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

async function readMember(http: PatroniHttp, url: string): Promise<MemberObservation> {
  const reply = await http.getJson(endpoint(url, '/patroni'));
  if (!reply.ok) return { name: null, url, status: reply.failure, error: reply.message };
  try {
    const report = parseMemberReport(reply.body, endpoint(url, '/patroni'));
    return { name: report.name, url, status: 'ok', report };
  } catch (error) {
    return { name: null, url, status: 'invalid_reply', error: messageOf(error) };
  }
}

interface ViewRead {
  readonly view: ClusterView | null;
  readonly error: string | null;
  /** The member's Patroni gave no reply at all (closed the connection or timed out), as it does without its DCS. */
  readonly noReply?: boolean;
}

async function readView(http: PatroniHttp, url: string): Promise<ViewRead> {
  const reply = await http.getJson(endpoint(url, '/cluster'));
  if (!reply.ok) return { view: null, error: reply.message, noReply: reply.failure !== 'invalid_reply' };
  try {
    return { view: parseClusterView(reply.body, endpoint(url, '/cluster')), error: null };
  } catch (error) {
    return { view: null, error: messageOf(error) };
  }
}

/** `/config` from the first member (the DCS's copy, the same on every member); null when it cannot be read. */
async function readHaSettings(http: PatroniHttp, base: string): Promise<HaSettings | null> {
  const url = endpoint(base, '/config');
  const reply = await http.getJson(url);
  if (!reply.ok) return null;
  try {
    return parseHaSettings(reply.body, url);
  } catch {
    return null;
  }
}

/** `/config` from the other members that answered, one after another (it is the DCS's copy: the first one will do). */
async function fallbackSettings(http: PatroniHttp, members: readonly MemberObservation[], first: string): Promise<HaSettings | null> {
  for (const member of members.filter((m) => m.status === 'ok' && m.url !== first)) {
    const settings = await readHaSettings(http, member.url);
    if (settings) return settings;
  }
  return null;
}

/** `/history` from the leader if it answered, else from any member that did; null if none could give it. */
async function readHistory(
  http: PatroniHttp,
  members: readonly MemberObservation[],
  urls: readonly string[],
): Promise<HistoryEntry[] | null> {
  const ok = members.filter((m) => m.status === 'ok');
  const ordered = [...ok.filter((m) => m.report.role === 'primary'), ...ok.filter((m) => m.report.role !== 'primary')];
  for (const member of ordered.length > 0 ? ordered : urls.map((url) => ({ url }))) {
    const reply = await http.getJson(endpoint(member.url, '/history'));
    if (!reply.ok) continue;
    try {
      return parseHistory(reply.body, endpoint(member.url, '/history'));
    } catch {
      // A malformed history is treated as unreadable: the detector then reports the gap instead of guessing.
    }
  }
  return null;
}

/**
 * Patroni < 3.2 does not say its own name: take it from `/cluster`, matching the member's `api_url` host and
 * port to the configured URL.
 */
function nameMembers(members: readonly MemberObservation[], view: ClusterView | null): MemberObservation[] {
  if (!view) return [...members];
  const byHost = new Map(view.members.filter((m) => m.apiUrl).map((m) => [memberHost(m.apiUrl!), m.name]));
  return members.map((m) => (m.name ? m : { ...m, name: byHost.get(memberHost(m.url)) ?? null }));
}
