import { type Alert, SNS_MESSAGE_MAX_BYTES, snsMessage } from './alerts.js';
import { anatomySummary } from './anatomy.js';
import type { ClusterEvent } from './events.js';
import type { PageMark } from './pageLifecycle.js';
import { neutralise } from './text.js';

/** One SMS part in GSM-7: longer texts, or any character outside it, cost more parts per page. */
export const SMS_MAX_CHARS = 140;

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** SMS and email clients show ASCII everywhere: arrows and dashes become their ASCII look-alikes. */
function ascii(text: string): string {
  return neutralise(text)
    .replace(/→/g, '->')
    .replace(/[–—]/g, '-')
    .replace(/[^\x20-\x7e]/g, '?');
}

/** The few words a pager needs after "SEVERITY cluster:", per event type; the sentence is for email. */
function smsWhat(event: ClusterEvent): string {
  switch (event.type) {
    case 'leader_changed':
      return `${event.kind} ${event.from ?? '?'}->${event.to}`;
    case 'no_leader':
      return `NO LEADER (last ${event.lastLeader ?? '?'}), writes failing`;
    case 'split_brain':
      return `SPLIT BRAIN ${event.members.join('+')}`;
    case 'cluster_unreachable':
      return 'no member answers';
    case 'member_unreachable':
      return `${event.member} unreachable (${event.status})`;
    case 'member_state_changed':
      return `leader ${event.member} postgres ${event.to}`;
    case 'write_verified':
      return `writes back, outage ${seconds(event.outage.downtimeMinMs)}-${seconds(event.outage.downtimeMaxMs)}s`;
    case 'write_unavailable':
      return `WRITES STILL FAILING after ${event.deadlineSeconds}s`;
    case 'canary_failed':
      return `canary write failed (${event.errorClass})`;
    default:
      return event.type.replace(/_/g, ' ');
  }
}

/**
 * The SMS: severity, cluster, what happened, and the outage where one was measured, in at most 140 ASCII
 * characters (one part).
 * @example "CRITICAL orders-db: NO LEADER (last pg_node1), writes failing"
 */
export function smsText(alert: Alert, page?: PageMark): string {
  const head =
    page?.action === 'resolve' ? 'RESOLVED' : page?.action === 'change' ? 'CHANGE' : (page?.severity ?? alert.severity).toUpperCase();
  const text = ascii(`${head} ${alert.cluster}: ${smsWhat(alert.event)}`);
  return text.length <= SMS_MAX_CHARS ? text : `${text.slice(0, SMS_MAX_CHARS - 3)}...`;
}

/** Email bodies stay readable and far below SNS's limit: the whole record is in the audit trail. */
const EMAIL_MAX_CHARS = 6_000;

/** A plain-text email: the sentence, the facts by name, the anatomy when measured, the runbook, where to look next. */
export function emailText(alert: Alert, incidentKey: string, page?: PageMark): string {
  const { event } = alert;
  const anatomy = event.type === 'write_verified' && event.anatomy ? anatomySummary(event.anatomy) : null;
  const status =
    page?.action === 'resolve' ? 'RESOLVED' : page?.action === 'change' ? 'CHANGE' : (page?.severity ?? alert.severity).toUpperCase();
  const lines = [
    `${status}: ${alert.cluster}: ${alert.type.replace(/_/g, ' ')}`,
    '',
    alert.text,
    '',
    `Cluster:   ${alert.cluster}`,
    `Event:     ${alert.type} (${alert.eventId})`,
    `Observed:  ${alert.occurredAt}`,
    `Incident:  ${incidentKey}`,
    ...(event.type === 'write_verified'
      ? [`Outage:    ${seconds(event.outage.downtimeMinMs)} s to ${seconds(event.outage.downtimeMaxMs)} s of failed writes through the VIP`]
      : []),
    ...(anatomy ? [`Anatomy:   ${anatomy}`] : []),
    `Runbook:   ${alert.runbook}`,
    `History:   failover history --cluster ${alert.cluster} --since ${new Date(event.observedAt - 3_600_000).toISOString()}`,
    `Incidents: failover incidents --cluster ${alert.cluster} --since 1d --phases`,
  ];
  // Each line neutralised on its own: the line breaks are ours, any inside a reply's text are not.
  const text = lines.map(ascii).join('\n');
  return text.length <= EMAIL_MAX_CHARS ? text : `${text.slice(0, EMAIL_MAX_CHARS - 3)}...`;
}

/**
 * One SNS message for every kind of subscriber (`MessageStructure: json`): a short SMS, a readable email, and the
 * machine form (the alert JSON, or Chatbot's format) as `default` for SQS, Lambda, HTTPS and email-json.
 */
export function snsStructuredMessage(alert: Alert, incidentKey: string, machine: (budgetBytes: number) => string, page?: PageMark): string {
  const human = { sms: smsText(alert, page), email: emailText(alert, incidentKey, page) };
  const overhead = Buffer.byteLength(JSON.stringify({ default: '', ...human })) + 1_024;
  // JSON-escaping the machine form inside the envelope can double its size in the worst case.
  return JSON.stringify({ default: machine(Math.floor((SNS_MESSAGE_MAX_BYTES - overhead) / 2)), ...human });
}

/** The machine form of the JSON format: the alert and its event, cut to the budget. */
export function alertJson(alert: Alert): (budgetBytes: number) => string {
  return (budget) => snsMessage(alert, budget);
}
