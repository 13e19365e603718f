import { highestTimeline, type NamedOkMember, observedLeader, reportsByName } from './detector.js';
import type { Exclusion } from './events.js';
import type { MemberReport, Observation } from './model.js';
import { assessReadiness, PATRONI_DEFAULTS, type ReadinessPolicy } from './readiness.js';
import { toTable } from './reportFormats.js';

/**
 * `failover status`: what an on-call engineer looks at first, for each cluster, from one read of its members now.
 * The verdict is the worst finding: unreachable, no leader, paused (Patroni fails over nothing), not ready (no
 * failover candidate, commits stalled, a promotion not done, the lock at risk, too few replicas) or ready.
 */
export type StatusVerdict = 'ready' | 'not ready' | 'paused' | 'no leader' | 'unreachable';

export interface ClusterStatus {
  readonly cluster: string;
  readonly verdict: StatusVerdict;
  /** Why the verdict is not `ready`, worst first; also warnings of a ready cluster (a lagging replica). */
  readonly findings: readonly string[];
  readonly leader: string | null;
  readonly timeline: number | null;
  readonly candidates: readonly string[];
  readonly excluded: readonly Exclusion[];
  readonly healthyReplicas: number;
  readonly minReplicas: number;
  /** The largest lag of any replica, bytes; null when none is known. */
  readonly maxLagBytes: number | null;
  /**
   * Seconds since the leader last read the DCS, by the leader's own clock against ours: a single read cannot tell
   * clock skew apart (the poller's `leader_lock_at_risk` measures on its own clock over polls).
   */
  readonly leaderDcsAgeSeconds: number | null;
  readonly pendingRestarts: readonly string[];
  readonly scheduled: readonly string[];
  /** `/config` could not be read: readiness used Patroni's defaults. */
  readonly settingsKnown: boolean;
}

export function clusterStatus(observation: Observation, policy: ReadinessPolicy): ClusterStatus {
  const named = observation.members.filter((m): m is NamedOkMember => m.status === 'ok' && Boolean(m.name));
  const reports = reportsByName(named);
  const leader = observedLeader(observation.view, named) ?? null;
  const timeline = highestTimeline(observation.view, observation.members);
  const base = {
    cluster: observation.cluster,
    leader,
    timeline,
    candidates: [],
    excluded: [],
    healthyReplicas: 0,
    minReplicas: policy.minReplicas,
    maxLagBytes: null,
    leaderDcsAgeSeconds: null,
    pendingRestarts: [...reports].filter(([, r]) => r.pendingRestart).map(([name]) => name),
    scheduled: scheduledActions(observation, reports),
    settingsKnown: Boolean(observation.settings),
  };
  if (reports.size === 0) return { ...base, verdict: 'unreachable', findings: ['no member answers'] };
  if (!observation.view || !leader) return { ...base, verdict: 'no leader', findings: ['no member holds the leader lock'] };
  if (observation.view.paused) return { ...base, verdict: 'paused', findings: ['maintenance mode: Patroni fails over nothing'] };
  const settings = observation.settings ?? null;
  const assessment = assessReadiness({ view: observation.view, reports, leader, timeline, settings });
  const lags = Object.values(assessment.lagBytes).filter((l): l is number => l !== null);
  const dcsLastSeen = reports.get(leader)?.dcsLastSeen ?? null;
  const leaderDcsAgeSeconds = dcsLastSeen === null ? null : Math.max(0, Math.round(observation.observedAt / 1000 - dcsLastSeen));
  const lockLimit = (settings?.ttl ?? PATRONI_DEFAULTS.ttl) - (settings?.loopWait ?? PATRONI_DEFAULTS.loopWait);
  const findings = [
    assessment.leaderNotPrimary && `${leader} holds the lock but is still ${assessment.leaderNotPrimary.role}: promotion not done`,
    assessment.commitsStalled && 'commits stalled: strict synchronous mode without a synchronous standby',
    assessment.candidates.length === 0 && 'no failover candidate',
    leaderDcsAgeSeconds !== null &&
      leaderDcsAgeSeconds > lockLimit &&
      `leader last read the DCS ${leaderDcsAgeSeconds} s ago (limit ${lockLimit} s)`,
    assessment.healthyReplicas.length < policy.minReplicas &&
      `${assessment.healthyReplicas.length} healthy replica(s), fewer than ${policy.minReplicas}`,
  ].filter((f): f is string => typeof f === 'string');
  return {
    ...base,
    verdict: findings.length > 0 ? 'not ready' : 'ready',
    findings,
    candidates: assessment.candidates,
    excluded: assessment.excluded,
    healthyReplicas: assessment.healthyReplicas.length,
    maxLagBytes: lags.length > 0 ? Math.max(...lags) : null,
    leaderDcsAgeSeconds,
  };
}

function scheduledActions(observation: Observation, reports: ReadonlyMap<string, MemberReport>): string[] {
  const switchover = observation.view?.scheduledSwitchover;
  const restarts = [...reports].filter(([, r]) => r.scheduledRestart).map(([name, r]) => `restart ${name} at ${r.scheduledRestart}`);
  return [...(switchover ? [`switchover at ${switchover.at}${switchover.to ? ` to ${switchover.to}` : ''}`] : []), ...restarts];
}

const HEADERS = [
  'cluster',
  'verdict',
  'leader',
  'TL',
  'candidates',
  'replicas',
  'max lag (MB)',
  'DCS read (s ago)',
  'pending restart',
  'scheduled',
  'why',
];

const orNone = (list: readonly string[]) => (list.length > 0 ? list.join(', ') : '-');

/** The table for people (toTable neutralises every cell), or one JSON object per cluster per line. */
export function renderStatus(statuses: readonly ClusterStatus[], format: 'table' | 'json'): string {
  if (format === 'json') return statuses.map((s) => `${JSON.stringify(s)}\n`).join('');
  const rows = statuses.map((s) => [
    s.cluster,
    s.verdict.toUpperCase(),
    s.leader ?? '-',
    s.timeline,
    orNone(s.candidates),
    `${s.healthyReplicas}/${s.minReplicas} min`,
    s.maxLagBytes === null ? '-' : (s.maxLagBytes / 1_048_576).toFixed(1),
    s.leaderDcsAgeSeconds,
    orNone(s.pendingRestarts),
    orNone(s.scheduled),
    [
      ...s.findings,
      ...s.excluded.map((e) => `${e.member}: ${e.reason}`),
      ...(s.settingsKnown || s.verdict === 'unreachable' ? [] : ['/config unreadable: Patroni defaults assumed']),
    ].join('; ') || '-',
  ]);
  return toTable(HEADERS, rows);
}
