import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DirectWrite,
  type HaproxyRouting,
  type HaproxyTimings,
  type IncidentAnatomy,
  incidentAnatomy,
  type Observed,
  type PatroniSettings,
} from '../../domain/anatomy.js';
import type { ClusterEvent, ProbePayload } from '../../domain/events.js';
import type {
  Clock,
  ClusterSettingsReader,
  ClusterTarget,
  EventStore,
  HaproxyStatsReader,
  LeaderLocator,
  MemberAddress,
  VipTarget,
  WriteProber,
} from '../../domain/ports.js';

/** What the configuration says one cluster lets the probe observe beyond its writes through the VIP. */
export interface AnatomyContext {
  /** The members' REST APIs: `/config` for the settings, `/cluster` for the new leader's address. */
  readonly target: ClusterTarget;
  /** The VIP's credentials, reused for direct writes to the new leader when that is allowed. */
  readonly vip: VipTarget;
  readonly probeMembersDirectly: boolean;
  readonly statsUrl: string | null;
  readonly haproxy: HaproxyTimings;
}

/** The sources the anatomy reads, each an adapter behind a port. */
export interface AnatomySources {
  readonly events: Pick<EventStore, 'listEvents'>;
  readonly settings: ClusterSettingsReader;
  readonly leader: LeaderLocator;
  readonly haproxyStats: HaproxyStatsReader;
  readonly prober: WriteProber;
  readonly clock: Clock;
}

const DIRECT_INTERVAL_MS = 500;
const MAX_EVENT_PAGES = 20;

/** The member that led before the incident, as the trigger names it. */
export function formerLeader(trigger: ClusterEvent): string | null {
  switch (trigger.type) {
    case 'leader_changed':
      return trigger.from;
    case 'no_leader':
      return trigger.lastLeader;
    case 'member_unreachable':
    case 'member_state_changed':
    case 'member_role_changed':
      return trigger.wasLeader ? trigger.member : null;
    default:
      return null;
  }
}

/**
 * Writes to the leader's own PostgreSQL (its address in `/cluster`), every half second, until one works on a
 * new leader, or on the same one after it was seen not writable, or `stopped()` says the VIP probe is done.
 * Bounded by `stopAt`.
 */
export async function watchDirectWrites(
  trigger: ClusterEvent,
  context: AnatomyContext,
  sources: AnatomySources,
  limits: { stopAt: number; stopped: () => boolean },
): Promise<Observed<DirectWrite>> {
  if (!context.probeMembersDirectly) {
    return { ok: false, note: 'the cluster does not let the probe reach its members (vip.probeMembersDirectly is off)' };
  }
  const before = formerLeader(trigger);
  let sawUnwritable = false;
  let lastNote = 'no leader in /cluster took a direct write';
  const rounds = Math.ceil(Math.max(0, limits.stopAt - sources.clock()) / DIRECT_INTERVAL_MS);
  for (let round = 0; round < rounds && !limits.stopped() && sources.clock() < limits.stopAt; round++) {
    const started = sources.clock();
    const leader = await sources.leader.leaderAddress(context.target);
    if (leader.ok) {
      const attempt = await sources.prober.attempt(directTarget(context.vip, leader.value), {
        cluster: trigger.cluster,
        triggerId: `${trigger.id}/direct`,
      });
      const isNew = leader.value.member !== before || sawUnwritable;
      if (attempt.ok && isNew)
        return { ok: true, value: { at: attempt.at, member: leader.value.member, address: `${leader.value.host}:${leader.value.port}` } };
      if (!attempt.ok) sawUnwritable = true;
      lastNote = attempt.ok
        ? `${leader.value.member} took writes directly throughout`
        : `last direct write to ${leader.value.member}: ${attempt.message ?? attempt.errorClass}`;
    } else {
      sawUnwritable = true;
      lastNote = leader.note;
    }
    await sleep(Math.max(0, started + DIRECT_INTERVAL_MS - sources.clock()));
  }
  return { ok: false, note: `no direct write to a new leader worked before writes through the VIP were stable (${lastNote})` };
}

function directTarget(vip: VipTarget, leader: MemberAddress): VipTarget {
  return { ...vip, host: leader.host, port: leader.port };
}

/** Every event of the cluster since `since`, bounded in pages. */
async function eventsSince(events: AnatomySources['events'], cluster: string, since: number): Promise<ClusterEvent[]> {
  const out: ClusterEvent[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_EVENT_PAGES; page++) {
    const read = await events.listEvents(cluster, { since, ...(cursor ? { cursor } : {}) });
    out.push(...read.events);
    cursor = read.cursor;
    if (!cursor) break;
  }
  return out;
}

/** When HAProxy routed to the new leader, read from its stats page; not observed without a stats URL or a leader. */
async function routing(context: AnatomyContext, sources: AnatomySources, direct: Observed<DirectWrite>): Promise<Observed<HaproxyRouting>> {
  if (!context.statsUrl) return { ok: false, note: "the cluster's config names no HAProxy stats URL (haproxy.statsUrl)" };
  const leader: Observed<MemberAddress> = direct.ok
    ? { ok: true, value: addressOf(direct.value) }
    : await sources.leader.leaderAddress(context.target);
  if (!leader.ok) return { ok: false, note: `no leader to look up in HAProxy's stats: ${leader.note}` };
  return sources.haproxyStats.routingTo(context.statsUrl, leader.value);
}

function addressOf(direct: DirectWrite): MemberAddress {
  const at = direct.address.lastIndexOf(':');
  return { member: direct.member, host: direct.address.slice(0, at), port: Number(direct.address.slice(at + 1)) };
}

/**
 * The incident's anatomy at verdict time: the recorded events, the settings in `/config`, HAProxy's stats and
 * the direct writes. A source that fails is "not observed" with its reason; it never fails the verdict.
 */
export async function anatomyOf(
  trigger: ClusterEvent,
  verdict: Extract<ProbePayload, { type: 'write_verified' }>,
  context: AnatomyContext,
  sources: AnatomySources,
  direct: Observed<DirectWrite>,
): Promise<IncidentAnatomy> {
  const [events, settings, routed] = await Promise.all([
    eventsSince(sources.events, trigger.cluster, verdict.outage.startedAfter).catch(() => [trigger]),
    sources.settings.readSettings(context.target).catch((): Observed<PatroniSettings> => ({ ok: false, note: '/config unreadable' })),
    routing(context, sources, direct),
  ]);
  return incidentAnatomy({
    trigger,
    events: events.some((e) => e.id === trigger.id) ? events : [trigger, ...events],
    verdict: {
      restoredAt: Date.parse(verdict.restoredAt),
      firstGoodWriteAt: Date.parse(verdict.firstGoodWriteAt ?? verdict.restoredAt),
      outage: verdict.outage,
    },
    direct,
    routing: routed,
    settings,
    haproxy: context.haproxy,
  });
}
