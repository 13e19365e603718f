import { describeEvent } from './describe.js';
import type { ClusterEvent, EventType } from './events.js';
import { leaderPostgresLost } from './model.js';
import { runbookLink } from './runbooks.js';
import { neutralise, slackEscape } from './text.js';

export type Severity = 'critical' | 'warning' | 'info';

/**
 * Which events page whom. Critical: writes are failing or data is at risk now. Warning: an unplanned change
 * that on-call should look at. Info: planned changes and recoveries. Absent: audit-only (roles, states,
 * timelines, DCS membership), recorded but never sent.
 */
const SEVERITY: Partial<Record<EventType, Severity>> = {
  no_leader: 'critical',
  split_brain: 'critical',
  cluster_unreachable: 'critical',
  write_unavailable: 'critical',
  promotion_stuck: 'critical',
  sync_commit_stalled: 'critical',
  identity_mismatch: 'warning',
  leader_lock_at_risk: 'warning',
  redundancy_lost: 'warning',
  dcs_membership_changed: 'warning',
  canary_failed: 'warning',
  member_unreachable: 'warning',
  leader_restored: 'info',
  split_brain_resolved: 'info',
  cluster_reachable: 'info',
  cluster_paused: 'info',
  cluster_resumed: 'info',
  member_reachable: 'info',
  write_verified: 'info',
  failover_readiness_restored: 'info',
  leader_lock_renewed: 'info',
  dcs_reachable: 'info',
  sync_commit_resumed: 'info',
  replica_lagging: 'info',
  replica_caught_up: 'info',
  scheduled_action: 'info',
};

/** Every event type that can be sent to people: each has a runbook (docs/runbooks/<type>.md). */
export const ALERTABLE_EVENT_TYPES: readonly EventType[] = [
  ...Object.keys(SEVERITY),
  'leader_changed',
  'member_state_changed',
  'failover_readiness_lost',
  'dcs_unreachable',
  'redundancy_restored',
] as EventType[];

/**
 * Null for audit-only events (settings, tags, versions, restarts pending). A switchover is planned (info); any other leader change is not (warning). The
 * leader's PostgreSQL crashing is critical on its own: in maintenance mode Patroni does nothing about it, and
 * otherwise it is the earliest sign of the failover to come.
 */
export function severityOf(event: ClusterEvent): Severity | null {
  if (event.type === 'leader_changed') return event.kind === 'switchover' ? 'info' : 'warning';
  if (event.type === 'member_state_changed') return event.wasLeader && leaderPostgresLost(event) ? 'critical' : null;
  // Without failsafe mode the primary demotes itself once it cannot renew its lock: writes stop, with no failover.
  if (event.type === 'dcs_unreachable') return event.failsafeMode ? 'warning' : 'critical';
  if (event.type === 'failover_readiness_lost') return event.level;
  // After a promotion it is the tail of the incident (audit); after a redundancy_lost it ends that page.
  if (event.type === 'redundancy_restored') return event.lostSince === undefined ? null : 'info';
  return SEVERITY[event.type] ?? null;
}

export interface Alert {
  readonly eventId: string;
  readonly cluster: string;
  readonly type: EventType;
  readonly severity: Severity;
  /** SNS subject rules: at most 100 printable ASCII characters, no line breaks. */
  readonly subject: string;
  readonly text: string;
  readonly occurredAt: string;
  /** What to do about it: the event's runbook (`docs/runbooks/<type>.md` under `notify.runbookBaseUrl`). */
  readonly runbook: string;
  readonly event: ClusterEvent;
}

const SNS_SUBJECT_MAX = 100;

/** The alert for an event, or null when the event is audit-only. */
export function buildAlert(event: ClusterEvent, options: { runbookBaseUrl?: string | undefined } = {}): Alert | null {
  const severity = severityOf(event);
  if (!severity) return null;
  const text = describeEvent(event);
  return {
    eventId: event.id,
    cluster: event.cluster,
    type: event.type,
    severity,
    subject: snsSubject(`[${severity.toUpperCase()}] ${event.cluster}: ${text}`),
    text,
    occurredAt: new Date(event.observedAt).toISOString(),
    runbook: runbookLink({ event: event.type }, options.runbookBaseUrl),
    event,
  };
}

function snsSubject(raw: string): string {
  // SNS rejects non-ASCII and control characters in subjects; arrows and dashes become ASCII.
  const ascii = neutralise(raw)
    .replace(/→/g, '->')
    .replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= SNS_SUBJECT_MAX ? ascii : `${ascii.slice(0, SNS_SUBJECT_MAX - 3)}...`;
}

/** SNS's limit on a message body; a larger alert drops its bulky fields and says so. */
export const SNS_MESSAGE_MAX_BYTES = 256 * 1024;

/** The SNS message body: the alert and the whole event as JSON, cut down only if it would exceed SNS's limit. */
export function snsMessage(alert: Alert, maxBytes = SNS_MESSAGE_MAX_BYTES): string {
  const full = JSON.stringify({ ...alert, format: 'patroni-failover-pipeline/alert@1' });
  if (Buffer.byteLength(full) <= maxBytes) return full;
  const { event: _event, ...rest } = alert;
  return JSON.stringify({
    ...rest,
    text: rest.text.slice(0, 2_000),
    format: 'patroni-failover-pipeline/alert@1',
    truncated: `the event was ${Buffer.byteLength(full)} bytes, over SNS's ${maxBytes}; read it from the audit trail by eventId`,
  });
}

/**
 * SNS message attributes subscribers filter on: the event's `cluster`, `type` and `severity`, and its place in the
 * incident, `page` (open, update, escalate, resolve, change, none) with the incident's `pageSeverity`. People's
 * subscriptions take open, escalate, resolve and change at the severities they chose: two messages per incident.
 */
export function snsAttributes(
  alert: Alert,
  page?: { action: string; severity: Severity; storm?: string },
): Record<string, { DataType: 'String'; StringValue: string }> {
  // An incident grouped under a storm reaches people through the storm's own page; only its escalation is theirs too.
  const grouped = page?.storm && page.action !== 'escalate';
  return {
    cluster: { DataType: 'String', StringValue: alert.cluster },
    type: { DataType: 'String', StringValue: alert.type },
    severity: { DataType: 'String', StringValue: alert.severity },
    page: { DataType: 'String', StringValue: grouped ? 'grouped' : (page?.action ?? 'none') },
    pageSeverity: { DataType: 'String', StringValue: page?.severity ?? alert.severity },
  };
}

/**
 * AWS Chatbot's custom notification format, for teams that route the SNS topic to Slack through Chatbot.
 * `threadId` groups an incident's alerts into one thread.
 */
export function chatbotMessage(alert: Alert, incidentKey: string): string {
  const icon = { critical: ':rotating_light:', warning: ':warning:', info: ':information_source:' }[alert.severity];
  return JSON.stringify({
    version: '1.0',
    source: 'custom',
    id: alert.eventId,
    content: {
      textType: 'client-markdown',
      title: `${icon} ${alert.cluster}: ${alert.type.replace(/_/g, ' ')}`,
      description: `${alert.text.slice(0, 2_800)}\nRunbook: ${alert.runbook}`,
      keywords: [alert.cluster, alert.severity, alert.type],
    },
    metadata: { threadId: incidentKey, summary: alert.subject, eventType: alert.type, additionalContext: { eventId: alert.eventId } },
  });
}

/** Slack's limit on a section block's text. */
const SLACK_TEXT_MAX = 3_000;

/** A Block Kit message: a headline, the sentence, and the event's id and time for the audit trail. */
export function slackBlocks(alert: Alert): { text: string; blocks: unknown[] } {
  const icon = { critical: ':rotating_light:', warning: ':warning:', info: ':large_green_circle:' }[alert.severity];
  const headline = `${icon} *${alert.severity.toUpperCase()}* ${slackEscape(alert.cluster)}: ${alert.type.replace(/_/g, ' ')}`;
  const text = slackEscape(alert.text);
  const body = text.length > SLACK_TEXT_MAX ? `${text.slice(0, SLACK_TEXT_MAX - 1)}…` : text;
  return {
    // Shown in notifications and read as mrkdwn too.
    text: slackEscape(alert.subject).slice(0, SLACK_TEXT_MAX),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: headline } },
      { type: 'section', text: { type: 'mrkdwn', text: body } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `event \`${alert.eventId}\` observed ${alert.occurredAt} · ${slackRunbook(alert.runbook)}` }],
      },
    ],
  };
}

/** A link where the runbook has a URL; its path in the package otherwise. */
function slackRunbook(runbook: string): string {
  return /^https?:\/\//.test(runbook) ? `<${runbook}|runbook>` : `runbook \`${runbook}\``;
}
