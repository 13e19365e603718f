import { type Severity, severityOf } from './alerts.js';
import { describeEvent } from './describe.js';
import type { ClusterEvent } from './events.js';

/**
 * What a channel does for an event, once the incident it belongs to is known:
 * - `open`: a new incident that needs a person (a page, a Slack parent message, an SMS);
 * - `update`: more about an open incident (a leader changed, a member came back): details, never a new page;
 * - `escalate`: the incident got worse than it was paged for (writes still failing at the probe's deadline);
 * - `resolve`: writes are verified back for good and the cluster has one leader;
 * - `change`: a planned change announced, not paged (a switchover, maintenance mode).
 */
export type PageAction = 'open' | 'update' | 'escalate' | 'resolve' | 'change';

/** One incident as on-call sees it, from its first page-worthy event to its resolution. */
export interface PageIncident {
  /** The incident key: the id of the event that opened it (PagerDuty's dedup_key, the Slack thread). */
  readonly key: string;
  readonly cluster: string;
  /** Opened by a planned switchover: announced as a change; paged only if it goes wrong. */
  readonly planned: boolean;
  /** A page was sent (so a resolve must be sent too). */
  readonly paged: boolean;
  readonly status: 'open' | 'escalated' | 'resolved';
  /** The highest severity seen in the incident. */
  readonly severity: Severity;
  readonly openedAt: number;
  /** The opening event's sentence. */
  readonly title: string;
  /** The latest leader change in the incident. */
  readonly leader: { readonly from: string | null; readonly to: string } | null;
  /** No member holds the leader lock (no_leader seen, no leader since). */
  readonly leaderless: boolean;
  /** Two primaries at once (split_brain seen, not resolved since). */
  readonly splitBrain: boolean;
  /** The probe's measured write outage, once writes are verified. */
  readonly outage: { readonly minMs: number; readonly maxMs: number } | null;
  /** The latest event's sentence and time. */
  readonly lastUpdate: { readonly text: string; readonly at: number };
  readonly resolvedAt: number | null;
}

/** An alert's place in its incident, as channels mark it: the action, and the incident's severity (the event's when it has none). */
export interface PageMark {
  readonly action: PageAction | 'none';
  readonly severity: Severity;
  /** The storm the incident is grouped under: people get the storm's page instead of this one (escalations still reach them). */
  readonly storm?: string;
}

/** The mark of a step for an alert of `alertSeverity`. */
export function pageMark(step: LifecycleStep, alertSeverity: Severity, storm?: string | null): PageMark {
  return { action: step.action ?? 'none', severity: subjectOf(step)?.severity ?? alertSeverity, ...(storm ? { storm } : {}) };
}

export interface LifecycleOptions {
  /**
   * A write probe is measuring this incident (the cluster has a VIP and writes may be lost): the incident resolves
   * on its verdict. Otherwise on the first sign of recovery while the cluster has one leader.
   */
  readonly awaitingVerdict: boolean;
  /** The key an incident opened by this event gets (the notifier's write-loss incident, when one is open). */
  readonly incidentKey: string;
}

export interface LifecycleStep {
  /** The cluster's incident after the event: what the notifier keeps. */
  readonly incident: PageIncident | null;
  readonly action: PageAction | null;
  /**
   * What the action is about: the incident, or nothing for a page or an announcement that stands alone (a one-shot
   * warning, maintenance mode), which must not touch the last incident's messages. @default `incident`
   */
  readonly standalone?: boolean;
}

/** The incident an action concerns: none for a standalone page or announcement. */
export function subjectOf(step: LifecycleStep): PageIncident | null {
  return step.standalone ? null : step.incident;
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
const higher = (a: Severity, b: Severity | null): Severity => (b && RANK[b] > RANK[a] ? b : a);

/** Events that make a planned change a failure to page for. */
function breaksPlan(event: ClusterEvent): boolean {
  return severityOf(event) === 'critical';
}

function isPlannedChange(event: ClusterEvent): boolean {
  return (
    (event.type === 'leader_changed' && event.kind === 'switchover') || event.type === 'cluster_paused' || event.type === 'cluster_resumed'
  );
}

/**
 * The next state of the cluster's incident and what the channels do about `event`. Pure: the notifier keeps the
 * incident between events and renders the action on every channel.
 */
export function advanceIncident(current: PageIncident | null, event: ClusterEvent, options: LifecycleOptions): LifecycleStep {
  if (riskKeyOf(event)) return riskStep(current, event);
  if (!current || current.status === 'resolved') return openOrAnnounce(current, event, options);
  const folded = fold(current, event);
  if (event.type === 'write_unavailable') {
    return { incident: { ...folded, status: 'escalated', severity: 'critical', paged: true }, action: current.paged ? 'escalate' : 'open' };
  }
  if (folded.planned && breaksPlan(event)) return { incident: { ...folded, planned: false, paged: true }, action: 'open' };
  if (isResolved(folded, event, options))
    return { incident: { ...folded, status: 'resolved', resolvedAt: event.observedAt }, action: 'resolve' };
  // Audit-only events (roles, timelines) still add their facts, but nobody is told about them.
  return { incident: folded, action: severityOf(event) === null ? null : 'update' };
}

function openOrAnnounce(previous: PageIncident | null, event: ClusterEvent, options: LifecycleOptions): LifecycleStep {
  // The probe's late verdict on an incident that already resolved (its leader came back first): still its story.
  if (previous && (event.type === 'write_verified' || event.type === 'write_unavailable') && event.incident === previous.key) {
    const folded = fold(previous, event);
    return event.type === 'write_unavailable'
      ? { incident: { ...folded, status: 'escalated', severity: 'critical', paged: true, resolvedAt: null }, action: 'open' }
      : { incident: folded, action: 'update' };
  }
  if (isPlannedChange(event) || event.type === 'scheduled_action') {
    // Maintenance mode is announced, not tracked: it has no end that writes could verify.
    if (event.type !== 'leader_changed') return { incident: previous, action: 'change', standalone: true };
    return { incident: { ...opened(event, options), planned: true, paged: false, severity: 'info' }, action: 'change' };
  }
  const severity = severityOf(event);
  if (severity !== 'critical' && severity !== 'warning') return { incident: previous, action: null };
  // Nothing the poller can see ends these: the page stands until a person resolves it, and is not tracked here.
  if (ONE_SHOT.has(event.type)) return { incident: previous, action: 'open', standalone: true };
  return { incident: opened(event, options), action: 'open' };
}

/** Risks that end with an event of their own, by the event that ends each. */
const RISK_ENDS = new Set([
  'failover_readiness_restored',
  'leader_lock_renewed',
  'dcs_reachable',
  'sync_commit_resumed',
  'redundancy_restored',
  'replica_caught_up',
]);

/**
 * The key of a risk before the failover, shared by the event that raises it and the one that ends it: PagerDuty's
 * dedup_key and the Slack parent, so that the end resolves the page it raised. Null for every other event.
 */
export function riskKeyOf(event: ClusterEvent): string | null {
  switch (event.type) {
    case 'failover_readiness_lost':
    case 'failover_readiness_restored':
      return `${event.cluster}:readiness:${event.since}`;
    case 'leader_lock_at_risk':
    case 'leader_lock_renewed':
      return `${event.cluster}:lock:${event.since}`;
    case 'dcs_unreachable':
    case 'dcs_reachable':
      return `${event.cluster}:dcs:${event.since}`;
    case 'sync_commit_stalled':
    case 'sync_commit_resumed':
      return `${event.cluster}:sync:${event.since}`;
    case 'redundancy_lost':
      return `${event.cluster}:redundancy:${event.since}`;
    case 'redundancy_restored':
      return event.lostSince === undefined ? null : `${event.cluster}:redundancy:${event.lostSince}`;
    case 'replica_lagging':
    case 'replica_caught_up':
      return `${event.cluster}:lag:${event.member}:${event.since}`;
    default:
      return null;
  }
}

/**
 * A risk is paged (or announced) on its own and ended by its own event, beside whatever incident the cluster has:
 * a failover that could not happen is not part of the outage it would have ended, and must not resolve with it.
 */
function riskStep(current: PageIncident | null, event: ClusterEvent): LifecycleStep {
  const severity = severityOf(event);
  const standalone = { incident: current, standalone: true } as const;
  if (severity === null) return { ...standalone, action: null };
  if (RISK_ENDS.has(event.type))
    return { ...standalone, action: severity === 'info' && event.type === 'replica_caught_up' ? 'change' : 'resolve' };
  if (severity === 'info') return { ...standalone, action: 'change' };
  // The same risk raised again, worse: readiness lost for longer than criticalAfterMs.
  if (event.type === 'failover_readiness_lost' && event.level === 'critical') return { ...standalone, action: 'escalate' };
  return { ...standalone, action: 'open' };
}

/** Warnings with no recovery event of their own. */
const ONE_SHOT = new Set(['identity_mismatch', 'dcs_membership_changed']);

function opened(event: ClusterEvent, options: LifecycleOptions): PageIncident {
  const text = describeEvent(event);
  return fold(
    {
      key: options.incidentKey,
      cluster: event.cluster,
      planned: false,
      paged: true,
      status: 'open',
      severity: severityOf(event) ?? 'warning',
      openedAt: event.observedAt,
      title: text,
      leader: null,
      leaderless: false,
      splitBrain: false,
      outage: null,
      lastUpdate: { text, at: event.observedAt },
      resolvedAt: null,
    },
    event,
  );
}

/** The facts an event adds to the incident. */
function fold(incident: PageIncident, event: ClusterEvent): PageIncident {
  const next = {
    ...incident,
    severity: incident.planned ? incident.severity : higher(incident.severity, severityOf(event)),
    lastUpdate: { text: describeEvent(event), at: event.observedAt },
  };
  switch (event.type) {
    case 'leader_changed':
      return { ...next, leader: { from: event.from, to: event.to }, leaderless: false };
    case 'leader_restored':
      return { ...next, leaderless: false };
    case 'no_leader':
      return { ...next, leaderless: true };
    case 'split_brain':
      return { ...next, splitBrain: true };
    case 'split_brain_resolved':
      return { ...next, splitBrain: false };
    case 'write_verified':
      return { ...next, outage: { minMs: event.outage.downtimeMinMs, maxMs: event.outage.downtimeMaxMs } };
    default:
      return next;
  }
}

/** Recovery events that end an incident on a cluster whose writes nobody verifies. */
const RECOVERY = new Set(['leader_changed', 'leader_restored', 'split_brain_resolved', 'cluster_reachable', 'member_reachable']);

function isResolved(incident: PageIncident, event: ClusterEvent, options: LifecycleOptions): boolean {
  if (incident.leaderless || incident.splitBrain) return false;
  if (event.type === 'write_verified') return true;
  return !options.awaitingVerdict && RECOVERY.has(event.type);
}
