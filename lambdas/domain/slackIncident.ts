import type { Alert } from './alerts.js';
import { type PageIncident, type PageMark, riskKeyOf } from './pageLifecycle.js';
import { slackEscape } from './text.js';

/** A Slack message as Block Kit sends it: `text` for notifications, `blocks` for the message. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly unknown[];
}

/** Slack's limits: a header's plain text 150 characters, a field's text 2000. */
const HEADER_MAX = 150;
const FIELD_MAX = 2_000;

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** What the parent message says the incident is now. */
function statusOf(incident: PageIncident | null, mark: PageMark): { icon: string; word: string } {
  if (incident?.status === 'resolved')
    return incident.planned ? { icon: ':white_check_mark:', word: 'DONE' } : { icon: ':white_check_mark:', word: 'RESOLVED' };
  // A risk before the failover has no incident: its end event resolves its own parent.
  if (!incident && mark.action === 'resolve') return { icon: ':white_check_mark:', word: 'RESOLVED' };
  if (incident?.status === 'escalated') return { icon: ':rotating_light:', word: 'ESCALATED' };
  if (incident?.planned || mark.action === 'change') return { icon: ':arrows_counterclockwise:', word: 'CHANGE' };
  return mark.severity === 'critical'
    ? { icon: ':rotating_light:', word: 'CRITICAL' }
    : { icon: ':warning:', word: mark.severity.toUpperCase() };
}

/** How long writes were down (measured) or how long the incident has been open so far. */
function outageField(incident: PageIncident | null): string {
  if (!incident) return 'not measured';
  if (incident.outage) return `${seconds(incident.outage.minMs)} to ${seconds(incident.outage.maxMs)} of failed writes (measured)`;
  const open = (incident.resolvedAt ?? incident.lastUpdate.at) - incident.openedAt;
  return `${seconds(open)} so far, being measured`;
}

/**
 * The incident's one parent message: a header with its status, the fields on-call reads first (cluster, leader
 * from and to, cause, outage, latest), and the incident key and runbook. Edited in place as the incident moves;
 * the events go to its thread. Every text from a reply is escaped for mrkdwn.
 */
export function slackIncidentMessage(incident: PageIncident | null, alert: Alert, mark: PageMark): SlackMessage {
  const { icon, word } = statusOf(incident, mark);
  const cluster = slackEscape(alert.cluster);
  const what = slackEscape(incident?.title ?? alert.text);
  const leader = incident?.leader ? `${slackEscape(incident.leader.from ?? '?')} → ${slackEscape(incident.leader.to)}` : 'unchanged';
  const field = (name: string, value: string) => ({ type: 'mrkdwn', text: cut(`*${name}*\n${value}`, FIELD_MAX) });
  const runbook = /^https?:\/\//.test(alert.runbook) ? `<${alert.runbook}|runbook>` : `runbook \`${alert.runbook}\``;
  const key = incident?.key ?? riskKeyOf(alert.event) ?? alert.eventId;
  return {
    text: cut(`${word} ${cluster}: ${what}`, 3_000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(`${word} ${alert.cluster}: ${alert.type.replace(/_/g, ' ')}`, HEADER_MAX) } },
      { type: 'section', text: { type: 'mrkdwn', text: cut(`${icon} ${what}`, 3_000) } },
      {
        type: 'section',
        fields: [
          field('Cluster', cluster),
          field('Status', word.toLowerCase()),
          field('Leader', leader),
          field('Outage', outageField(incident)),
          field('Latest', slackEscape(incident?.lastUpdate.text ?? alert.text)),
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `incident ${slackEscape(key)} · ${runbook}` }] },
    ],
  };
}
