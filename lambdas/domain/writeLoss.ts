import type { ClusterEvent } from './events.js';

/** Events that mean writes may be failing right now: they open an incident and start the write probe. */
export function isWriteLossEvidence(event: ClusterEvent): boolean {
  switch (event.type) {
    case 'leader_changed':
    case 'no_leader':
    case 'leader_restored':
    case 'timeline_changed':
      return true;
    case 'canary_failed':
    // A lock holder still in recovery takes no writes; strict synchronous mode with no standby takes no commits.
    case 'promotion_stuck':
    case 'sync_commit_stalled':
      return true;
    case 'member_unreachable':
      return event.wasLeader;
    case 'member_state_changed':
      return event.wasLeader && event.to !== 'running';
    case 'member_role_changed':
      // The leader demoting itself (an etcd outage): writes stop before any no_leader or new leader shows.
      return event.wasLeader && event.from === 'primary';
    default:
      return false;
  }
}
