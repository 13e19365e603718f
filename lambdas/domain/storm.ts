/**
 * Storms: incidents opening on many clusters inside a short window (an availability zone lost, a hypervisor host
 * gone). On-call gets one fleet page that says how many, which, and what they share; each cluster's incident still
 * exists, grouped under it. Pure: the notifier keeps the fleet's state in the store and renders the steps.
 */

/** When openings make a storm: `clusters` distinct clusters within `windowMs` of each other. */
export interface StormSettings {
  readonly clusters: number;
  readonly windowMs: number;
}

export const DEFAULT_STORM_SETTINGS: StormSettings = { clusters: 5, windowMs: 60_000 };

/** One cluster's incident opening, as the fleet sees it. */
export interface FleetOpening {
  readonly cluster: string;
  readonly incidentKey: string;
  readonly at: number;
  /** What opened it, in a word or two: `leader_changed failover`, `no_leader`. */
  readonly kind: string;
  /** Where it is now; an opening resolved before a storm was recognised joins it resolved. @default 'open' */
  readonly status?: 'open' | 'escalated' | 'resolved';
}

export interface StormMember extends FleetOpening {
  readonly status: 'open' | 'escalated' | 'resolved';
  /** Paged on its own before the storm was recognised (one of the first few). */
  readonly pagedAlone: boolean;
}

export interface Storm {
  /** `storm:<ISO time of the first opening>`: the fleet page's dedup_key, Slack parent and SNS incident. */
  readonly key: string;
  readonly openedAt: number;
  /** The opening that made the openings a storm: its notifier sends the fleet page. */
  readonly startedBy: string;
  readonly members: readonly StormMember[];
  /** The latest member's opening: a later opening within the window joins. */
  readonly lastJoinAt: number;
  readonly status: 'open' | 'resolved';
  readonly resolvedAt: number | null;
}

/** What the notifiers keep for the whole fleet: the recent openings and the storm, if one is going on. */
export interface FleetState {
  readonly openings: readonly FleetOpening[];
  readonly storm: Storm | null;
  /** The last storm that resolved, so that a late redelivery of its events is still recognised. */
  readonly previous?: Storm | null;
  /** The Slack parent of each recent storm (bot mode). */
  readonly threads?: Readonly<Record<string, { readonly ts: string; readonly channel: string | null; readonly openedBy?: string }>>;
  /** Bumped by every save; two notifiers race on it as on a cluster's state. */
  readonly revision?: number;
}

export const EMPTY_FLEET_STATE: FleetState = { openings: [], storm: null };

/**
 * An opening's place in the fleet: `alone` pages as usual; `started` made a storm (its notifier sends the fleet
 * page, which lists the earlier ones); `joined` is grouped under the storm that is going on.
 */
export type FleetRole = 'alone' | 'started' | 'joined';

export interface FleetStep {
  readonly fleet: FleetState;
  readonly role: FleetRole;
  readonly storm: Storm | null;
}

/**
 * The fleet record holds every member (about 150 bytes each) in one DynamoDB item of at most 400 KB: past this
 * many, later openings page on their own.
 */
const MEMBERS_MAX = 1_500;

/** The fleet after `opening`, and the opening's role. Idempotent: an opening registered already keeps its role. */
export function registerOpening(fleet: FleetState, opening: FleetOpening, settings: StormSettings): FleetStep {
  const known = roleOf(fleet, opening.incidentKey);
  if (known) return known;
  const storm = fleet.storm;
  if (storm?.status === 'open' && opening.at - storm.lastJoinAt <= settings.windowMs && storm.members.length < MEMBERS_MAX) {
    const joined: Storm = {
      ...storm,
      members: [...storm.members, { ...opening, status: 'open', pagedAlone: false }],
      lastJoinAt: Math.max(storm.lastJoinAt, opening.at),
    };
    return { fleet: { ...fleet, storm: joined }, role: 'joined', storm: joined };
  }
  // Openings arrive in any order across clusters: the window is measured both ways.
  const recent = [...fleet.openings.filter((o) => Math.abs(opening.at - o.at) <= settings.windowMs), opening];
  const latestPerCluster = [...new Map(recent.map((o) => [o.cluster, o])).values()];
  // One storm at a time: while one is open, later openings outside its window page on their own.
  if (latestPerCluster.length < settings.clusters || storm?.status === 'open')
    return { fleet: { ...fleet, openings: recent }, role: 'alone', storm: null };
  const openedAt = Math.min(...latestPerCluster.map((o) => o.at));
  const started: Storm = {
    key: `storm:${new Date(openedAt).toISOString()}`,
    openedAt,
    startedBy: opening.incidentKey,
    members: latestPerCluster.map((o) => ({ ...o, status: o.status ?? 'open', pagedAlone: o.incidentKey !== opening.incidentKey })),
    lastJoinAt: Math.max(...latestPerCluster.map((o) => o.at)),
    status: 'open',
    resolvedAt: null,
  };
  return { fleet: { ...fleet, openings: [], storm: started }, role: 'started', storm: started };
}

/** The role an incident already has in the fleet's state, if it is known there. */
export function roleOf(fleet: FleetState, incidentKey: string): FleetStep | null {
  for (const storm of [fleet.storm, fleet.previous ?? null]) {
    if (storm?.members.some((m) => m.incidentKey === incidentKey))
      return { fleet, role: storm.startedBy === incidentKey ? 'started' : 'joined', storm };
  }
  if (fleet.openings.some((o) => o.incidentKey === incidentKey)) return { fleet, role: 'alone', storm: null };
  return null;
}

/** The storm an incident is grouped under, if any (open or just resolved). */
export function stormOf(fleet: FleetState, incidentKey: string): Storm | null {
  const known = roleOf(fleet, incidentKey);
  return known?.role === 'alone' ? null : (known?.storm ?? null);
}

/**
 * The fleet after a member's incident moved (escalated or resolved). `resolved` is the storm when this ended it:
 * every member resolved and the window since the last one joined has passed (see `settleStorm`).
 */
export function registerMemberStatus(
  fleet: FleetState,
  change: { readonly incidentKey: string; readonly status: 'escalated' | 'resolved'; readonly at: number },
  settings: StormSettings,
): { fleet: FleetState; storm: Storm | null; resolved: Storm | null } {
  const storm = fleet.storm;
  if (!storm?.members.some((m) => m.incidentKey === change.incidentKey)) {
    if (!fleet.openings.some((o) => o.incidentKey === change.incidentKey))
      return { fleet, storm: stormOf(fleet, change.incidentKey), resolved: null };
    const openings = fleet.openings.map((o) => (o.incidentKey === change.incidentKey ? { ...o, status: change.status } : o));
    return { fleet: { ...fleet, openings }, storm: stormOf(fleet, change.incidentKey), resolved: null };
  }
  const members = storm.members.map((m) => (m.incidentKey === change.incidentKey ? { ...m, status: change.status } : m));
  const moved = { ...fleet, storm: { ...storm, members } };
  const settled = settleStorm(moved, change.at, settings);
  return { fleet: settled.fleet, storm: settled.resolved ?? moved.storm, resolved: settled.resolved };
}

/**
 * Ends the storm once every member is resolved and the window has passed since the last one joined: members that
 * resolve fast (no write probe) must not end a storm that is still gathering. The notifier calls it for every
 * later event of a member, so the first one after the window ends the storm.
 */
export function settleStorm(fleet: FleetState, at: number, settings: StormSettings): { fleet: FleetState; resolved: Storm | null } {
  const storm = fleet.storm;
  if (storm?.status !== 'open' || at - storm.lastJoinAt < settings.windowMs) return { fleet, resolved: null };
  if (!storm.members.every((m) => m.status === 'resolved')) return { fleet, resolved: null };
  const resolved: Storm = { ...storm, status: 'resolved', resolvedAt: at };
  return { fleet: { ...fleet, storm: null, previous: resolved }, resolved };
}

/**
 * A storm's clusters. Its members are incidents: a cluster that failed over twice within the window has two, and
 * is still one cluster, resolved once both are.
 */
export interface StormCluster {
  readonly cluster: string;
  readonly status: StormMember['status'];
  /** What opened its incidents, each kind once. */
  readonly kinds: readonly string[];
}

export function stormClusters(storm: Storm): StormCluster[] {
  const byCluster = new Map<string, StormMember[]>();
  for (const member of storm.members) {
    const incidents = byCluster.get(member.cluster);
    if (incidents) incidents.push(member);
    else byCluster.set(member.cluster, [member]);
  }
  return [...byCluster].map(([cluster, incidents]) => ({
    cluster,
    status: clusterStatus(incidents),
    kinds: [...new Set(incidents.map((m) => m.kind))],
  }));
}

function clusterStatus(incidents: readonly StormMember[]): StormMember['status'] {
  if (incidents.every((m) => m.status === 'resolved')) return 'resolved';
  return incidents.some((m) => m.status === 'escalated') ? 'escalated' : 'open';
}

/** What the members share: a tag value (an availability zone) and the kind of failure, each with how many have it. */
export interface CommonCause {
  readonly tags: readonly { readonly key: string; readonly value: string; readonly clusters: number }[];
  readonly kinds: readonly { readonly kind: string; readonly clusters: number }[];
}

/**
 * The common cause of a storm: for each tag key, its most common value among the clusters when at least half of
 * them have it (most shared first); the failure kinds by the clusters they opened incidents on.
 */
export function commonCause(storm: Storm, tagsOf: (cluster: string) => Readonly<Record<string, string>>): CommonCause {
  const clusters = stormClusters(storm);
  const byKey = new Map<string, Map<string, number>>();
  for (const { cluster } of clusters) {
    for (const [key, value] of Object.entries(tagsOf(cluster))) {
      const values = byKey.get(key) ?? new Map<string, number>();
      values.set(value, (values.get(value) ?? 0) + 1);
      byKey.set(key, values);
    }
  }
  const tags = [...byKey]
    .map(([key, values]) => {
      const [value, count] = [...values].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]!;
      return { key, value, clusters: count };
    })
    .filter((tag) => tag.clusters * 2 >= clusters.length)
    .sort((a, b) => b.clusters - a.clusters || a.key.localeCompare(b.key));
  const kinds = new Map<string, number>();
  for (const cluster of clusters) for (const kind of cluster.kinds) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  return {
    tags,
    kinds: [...kinds]
      .map(([kind, count]) => ({ kind, clusters: count }))
      .sort((a, b) => b.clusters - a.clusters || a.kind.localeCompare(b.kind)),
  };
}

/** `all 50 in az=eu-west-1a; leader_changed failover 41, no_leader 9`: the cause in one line. */
export function causeLine(storm: Storm, cause: CommonCause): string {
  const size = stormClusters(storm).length;
  const share = (n: number) => (n === size ? `all ${n}` : `${n} of ${size}`);
  const tags = cause.tags.map((t) => `${share(t.clusters)} in ${t.key}=${t.value}`);
  const kinds = cause.kinds.map((k) => `${k.kind} ${k.clusters}`).join(', ');
  return [...tags, kinds].filter(Boolean).join('; ');
}
