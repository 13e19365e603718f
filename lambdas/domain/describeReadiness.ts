import type { ClusterEvent, Exclusion, ReadinessPayload } from './events.js';
import type { MemberTags } from './model.js';

const seconds = (ms: number) => (ms / 1000).toFixed(0);
const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const names = (list: readonly string[]) => (list.length > 0 ? list.join(', ') : 'none');
const exclusions = (list: readonly Exclusion[]) => list.map((e) => `${e.member}: ${e.reason}`).join('; ');
const tagText = (tags: MemberTags) => {
  const entries = Object.entries(tags);
  return entries.length > 0 ? entries.map(([k, v]) => `${k}=${String(v)}`).join(' ') : 'no tags';
};
const demotes = (failsafe: boolean) =>
  failsafe
    ? 'failsafe_mode is on: the primary keeps running while it reaches every member'
    : 'failsafe_mode is off: the primary will demote itself';

/** One sentence per readiness and settings event (see describeEvent). */
export function readinessSentence(event: ClusterEvent & ReadinessPayload): string {
  switch (event.type) {
    case 'failover_readiness_lost':
      return `${event.level === 'critical' ? 'STILL ' : ''}NO FAILOVER CANDIDATE for leader ${event.leader} since ${new Date(event.since).toISOString()}: if it fails now, Patroni cannot fail over (${exclusions(event.excluded) || 'no other member'})`;
    case 'failover_readiness_restored':
      return `failover possible again after ${seconds(event.afterMs)} s: candidates ${names(event.candidates)}`;
    case 'promotion_stuck':
      return `PROMOTION STUCK: ${event.member} holds the leader lock but its PostgreSQL is still ${event.role} (${event.state}) after more than one loop_wait (${event.loopWaitSeconds} s): writes fail`;
    case 'leader_lock_at_risk':
      return `leader ${event.leader} has not read the DCS for ${seconds(event.unrenewedForMs)} s (more than ttl - loop_wait, ${seconds(event.thresholdMs)} s): its lock may expire; ${demotes(event.failsafeMode)} if it cannot renew it`;
    case 'leader_lock_renewed':
      return `leader ${event.leader} reads the DCS again (${seconds(event.afterMs)} s after its lock was at risk)`;
    case 'dcs_unreachable':
      return `DCS UNREACHABLE: no member (${names(event.members)}) has read it for ${seconds(event.unrenewedForMs)} s; ${demotes(event.failsafeMode)}`;
    case 'dcs_reachable':
      return `members read the DCS again after ${seconds(event.afterMs)} s`;
    case 'sync_commit_stalled':
      return `COMMITS STALLED on ${event.leader}: synchronous_mode_strict is on and no synchronous standby streams${event.excluded.length > 0 ? ` (${exclusions(event.excluded)})` : ''}`;
    case 'sync_commit_resumed':
      return `commits resume on ${event.leader}: synchronous standby ${names(event.syncStandbys)} after ${seconds(event.afterMs)} s`;
    case 'redundancy_lost':
      return `redundancy lost: ${event.healthy.length} healthy replica(s) of a minimum ${event.minimum} streaming from ${event.leader}${event.excluded.length > 0 ? ` (${exclusions(event.excluded)})` : ''}`;
    case 'replica_lagging':
      return `${event.member} is ${megabytes(event.lagBytes)} behind the leader (threshold ${megabytes(event.thresholdBytes)})${event.replayPaused ? '; its replay is paused' : ''}`;
    case 'replica_caught_up':
      return `${event.member} caught up${event.lagBytes === null ? '' : ` (${megabytes(event.lagBytes)} behind)`} after ${seconds(event.afterMs)} s`;
    case 'config_changed':
      return `/config changed: ${event.changes.map((c) => `${c.key} ${c.from ?? '(unset)'} → ${c.to ?? '(unset)'}`).join('; ')}`;
    case 'member_tags_changed':
      return `${event.member}: tags ${tagText(event.from)} → ${tagText(event.to)}`;
    case 'pending_restart_changed':
      return event.pending
        ? `${event.member}: restart pending${event.reasons ? ` (${names(event.reasons)})` : ''}`
        : `${event.member}: no restart pending`;
    case 'version_changed':
      return `${event.member}: ${event.component === 'patroni' ? 'Patroni' : 'PostgreSQL'} ${event.from} → ${event.to}`;
    case 'scheduled_action':
      return event.action === 'switchover'
        ? `switchover scheduled for ${event.at}${event.from ? ` from ${event.from}` : ''}${event.to ? ` to ${event.to}` : ''} (planned)`
        : `${event.member ?? '?'}: restart scheduled for ${event.at} (planned)`;
  }
}
