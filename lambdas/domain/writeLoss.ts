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
