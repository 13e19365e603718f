import { anatomySummary } from './anatomy.js';
import { readinessSentence } from './describeReadiness.js';
import type { ClusterEvent } from './events.js';
import { restoreTimeOf } from './outage.js';
import { duration } from './sla.js';
import { neutralise } from './text.js';

const tl = (t: number | null) => (t === null ? '?' : String(t));
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const errorSummary = (errors: Readonly<Record<string, number | undefined>>) => {
  const parts = Object.entries(errors).map(([kind, count]) => `${count} ${kind}`);
  return parts.length > 0 ? `; errors: ${parts.join(', ')}` : '';
};

/**
 * One sentence per event for people: the terminal, alert subjects and texts. The JSON form stays the record;
 * this only reads it.
 * @example describeEvent(leaderChanged) // "leader pg_node1 → pg_node2 (failover; timeline 3 → 4): pg_node1 unreachable: connection refused"
 */
export function describeEvent(event: ClusterEvent): string {
  return neutralise(sentence(event));
}

function sentence(event: ClusterEvent): string {
  switch (event.type) {
    case 'watch_started':
      return `watching: leader ${event.leader ?? 'none'}, timeline ${tl(event.timeline)}, members ${event.members.join(', ')}`;
    case 'leader_changed':
      return (
        `leader ${event.from ?? '?'} → ${event.to} (${event.kind}; timeline ${tl(event.oldTimeline)} → ${tl(event.newTimeline)})` +
        `${event.reconciled ? ' [reconciled from /history]' : ''}${event.scheduledAt ? ` [the switchover scheduled for ${event.scheduledAt}]` : ''}: ${event.evidence.detail}`
      );
    case 'timeline_changed':
      return `timeline ${event.from} → ${event.to} on ${event.leader ?? '?'}${event.missedPromotions > 0 ? ` (${event.missedPromotions} promotions between polls)` : ''}`;
    case 'member_role_changed':
      return `${event.member}: role ${event.from} → ${event.to}`;
    case 'member_state_changed':
      return `${event.member}${event.wasLeader ? ' (leader)' : ''}: state ${event.from} → ${event.to}`;
    case 'member_unreachable':
      return `${event.member} unreachable (${event.status}): ${event.error}`;
    case 'member_reachable':
      return `${event.member} answers again`;
    case 'member_added':
      return `${event.member} joined the DCS`;
    case 'member_removed':
      return `${event.member} left the DCS (its member key expired or was removed)`;
    case 'dcs_membership_changed':
      return `${event.added} member keys appeared and ${event.removed} expired in the DCS at once (${event.sample.join(', ')}${event.added + event.removed > event.sample.length ? ', ...' : ''})`;
    case 'watch_gap':
      return `not watched from ${new Date(event.unwatchedFrom).toISOString()} to ${new Date(event.unwatchedUntil).toISOString()} (${duration(event.unwatchedUntil - event.unwatchedFrom)}): the poller was not polling`;
    case 'redundancy_restored':
      return `redundancy restored: ${event.replicas.join(', ')} streaming from ${event.leader} on timeline ${event.timeline}, ${seconds(event.afterMs)} s after ${event.lostSince === undefined ? 'the timeline moved' : 'it was lost'}`;
    case 'no_leader':
      return `NO LEADER since ${new Date(event.since).toISOString()} (last leader ${event.lastLeader ?? 'unknown'}): writes are failing`;
    case 'leader_restored':
      return `leader ${event.leader} holds the lock again`;
    case 'split_brain':
      return `SPLIT BRAIN: ${event.members.join(' and ')} both run as primaries`;
    case 'split_brain_resolved':
      return `split brain over: ${event.members.join(', ')} no longer both primaries`;
    case 'cluster_paused':
      return 'maintenance mode on: Patroni will not fail over';
    case 'cluster_resumed':
      return 'maintenance mode off';
    case 'cluster_unreachable':
      return `no member answers: ${Object.entries(event.errors)
        .map(([m, e]) => `${m} ${e}`)
        .join('; ')}`;
    case 'cluster_reachable':
      return 'members answer again';
    case 'identity_mismatch':
      return event.rebootstrapped
        ? `cluster re-bootstrapped: system identifier ${event.expected} → ${event.actual}`
        : `${event.member} belongs to another cluster (${event.field} ${event.actual}, expected ${event.expected}): ignored`;
    case 'unexpected_reply':
      return `${event.member}: ${event.source} says ${event.field} "${event.value}", which no Patroni version sends: not taken as an outage; the members' own replies decide`;
    case 'write_verified':
      return (
        `writes work again for good through the VIP at ${restoreTimeOf(event)}, on ${event.servedBy.address ?? '?'}:${event.servedBy.port ?? '?'} ` +
        `(timeline ${tl(event.servedBy.timeline)}); write outage ${seconds(event.outage.downtimeMinMs)}-${seconds(event.outage.downtimeMaxMs)} s` +
        flappingNote(event) +
        ` after ${event.attempts} attempts${errorSummary(event.errors)}` +
        (event.anatomy ? `. ${anatomySummary(event.anatomy)}` : '')
      );
    case 'canary_failed':
      return `a canary write through the VIP ${event.vip} failed (${event.errorClass}): ${event.error}`;
    case 'failover_readiness_lost':
    case 'failover_readiness_restored':
    case 'promotion_stuck':
    case 'leader_lock_at_risk':
    case 'leader_lock_renewed':
    case 'dcs_unreachable':
    case 'dcs_reachable':
    case 'sync_commit_stalled':
    case 'sync_commit_resumed':
    case 'redundancy_lost':
    case 'replica_lagging':
    case 'replica_caught_up':
    case 'config_changed':
    case 'member_tags_changed':
    case 'pending_restart_changed':
    case 'version_changed':
    case 'scheduled_action':
      return readinessSentence(event);
    case 'write_unavailable':
      return `WRITES STILL FAILING through the VIP after ${event.deadlineSeconds} s (${event.attempts} attempts${errorSummary(event.errors)}): ${event.lastError}`;
  }
}

/** Good writes that came before the restore for good, when there were failures between them. */
function flappingNote(event: Extract<ClusterEvent, { type: 'write_verified' }>): string {
  if (event.flapping && event.flapping.failedAttempts > 0 && event.firstGoodWriteAt) {
    return `, flapping for ${seconds(event.flapping.spanMs)} s after a first good write at ${event.firstGoodWriteAt} (${event.flapping.failedAttempts} failed attempts)`;
  }
  if (event.stableSince !== undefined && event.stableSince !== event.restoredAt) return `, first good write at ${event.restoredAt}`;
  return '';
}
