import type { PagerDutyRequest } from './pagerduty.js';
import type { SlackMessage } from './slackIncident.js';
import { type CommonCause, causeLine, type Storm, stormClusters } from './storm.js';
import { neutralise, slackEscape } from './text.js';

/** What a fleet page is for: the storm recognised (or grown), or every member resolved. */
export type StormAction = 'open' | 'update' | 'resolve';

/** A storm as every channel renders it: the storm, what its members share, and its runbook. */
export interface StormPage {
  readonly storm: Storm;
  readonly cause: CommonCause;
  readonly action: StormAction;
  readonly runbook: string;
}

/** Names shown in a message; the rest are counted. Slack, SMS and email stay readable at a thousand members. */
const NAMES_SHOWN = 30;

const iso = (ms: number) => new Date(ms).toISOString();

/** Clusters, not incidents: a cluster that failed over twice within the storm is counted once. */
function counts(storm: Storm) {
  const clusters = stormClusters(storm);
  const resolved = clusters.filter((c) => c.status === 'resolved').length;
  const escalated = clusters.filter((c) => c.status === 'escalated').length;
  return { total: clusters.length, resolved, escalated, open: clusters.length - resolved };
}

/** `orders-db, billing-db, ... and 38 more`, with each name neutralised (they come from the configuration). */
function memberList(storm: Storm, escapeName: (text: string) => string): string {
  const clusters = stormClusters(storm);
  const names = clusters.slice(0, NAMES_SHOWN).map((c) => escapeName(c.cluster) + (c.status === 'resolved' ? ' (resolved)' : ''));
  const more = clusters.length - NAMES_SHOWN;
  return more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
}

/** `STORM 12 clusters failing over` / `RESOLVED storm of 12 clusters`: the page's headline. */
export function stormHeadline(page: StormPage): string {
  const { total, open } = counts(page.storm);
  if (page.storm.status === 'resolved') return `RESOLVED storm of ${total} clusters`;
  return `STORM ${total} clusters failing over (${open} open)`;
}

/** The fleet parent in Slack: headline, common cause, members and their state; each member's incident in its thread. */
export function stormSlackMessage(page: StormPage): SlackMessage {
  const { storm } = page;
  const { total, resolved, escalated } = counts(storm);
  const icon = storm.status === 'resolved' ? ':white_check_mark:' : ':rotating_light:';
  const cause = slackEscape(causeLine(storm, page.cause));
  const runbook = /^https?:\/\//.test(page.runbook) ? `<${page.runbook}|runbook>` : `runbook \`${page.runbook}\``;
  const field = (name: string, value: string) => ({ type: 'mrkdwn', text: `*${name}*\n${value}`.slice(0, 2_000) });
  return {
    text: `${stormHeadline(page)}: ${cause}`.slice(0, 3_000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: stormHeadline(page).slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: `${icon} ${cause}`.slice(0, 3_000) } },
      {
        type: 'section',
        fields: [
          field('Clusters', `${total}: ${resolved} resolved, ${escalated} escalated`),
          field('Since', iso(storm.openedAt)),
          field('Members', memberList(storm, slackEscape)),
        ],
      },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `storm ${slackEscape(storm.key)} · each cluster's incident in the thread · ${runbook}` }],
      },
    ],
  };
}

/** SMS and email read ASCII everywhere. */
function ascii(text: string): string {
  return neutralise(text)
    .replace(/→/g, '->')
    .replace(/[^\x20-\x7e]/g, '?');
}

/** The storm's SMS: one part. @example "STORM 50 clusters failing over (50 open): all 50 in az=eu-west-1a; leader_changed failover 50" */
export function stormSms(page: StormPage): string {
  const text = ascii(`${stormHeadline(page)}: ${causeLine(page.storm, page.cause)}`);
  return text.length <= 140 ? text : `${text.slice(0, 137)}...`;
}

/** Members listed by name in an email. */
const EMAIL_MEMBERS_MAX = 300;

/** The storm's email: what, what they share, every member with its state, where to look. */
export function stormEmail(page: StormPage): string {
  const { storm } = page;
  const lines = [
    stormHeadline(page),
    '',
    `Common cause: ${causeLine(storm, page.cause)}`,
    `Since:        ${iso(storm.openedAt)}${storm.resolvedAt ? `, resolved ${iso(storm.resolvedAt)}` : ''}`,
    `Storm:        ${storm.key}`,
    `Runbook:      ${page.runbook}`,
    `Incidents:    failover incidents --all-clusters --since ${iso(storm.openedAt - 60_000)}`,
    '',
    'Incidents (cluster, status, what opened it, incident key):',
    ...storm.members.slice(0, EMAIL_MEMBERS_MAX).map((m) => `  ${m.cluster}  ${m.status}  ${m.kind}  ${m.incidentKey}`),
    ...(storm.members.length > EMAIL_MEMBERS_MAX
      ? [`  ... and ${storm.members.length - EMAIL_MEMBERS_MAX} more (the audit trail has them all)`]
      : []),
  ];
  return lines.map(ascii).join('\n');
}

/** Members in the machine form: with the email beside it, the message stays far below SNS's 256 KB. */
const JSON_MEMBERS_MAX = 400;

/**
 * The machine form: the storm itself (its first members; `members` counts them all, `clusters` the clusters they
 * are on), for SQS, Lambda and HTTPS.
 */
export function stormJson(page: StormPage): string {
  const { storm } = page;
  const listed = { ...storm, members: storm.members.slice(0, JSON_MEMBERS_MAX) };
  return JSON.stringify({
    type: 'fleet_storm',
    action: page.action,
    storm: listed,
    members: storm.members.length,
    clusters: stormClusters(storm).length,
    cause: page.cause,
    runbook: page.runbook,
  });
}

/**
 * The fleet page on PagerDuty: one alert on the storm's key, in the group every member's own alert carries, so
 * PagerDuty's alert grouping gathers them under it; resolved when every member is.
 */
export function stormPagerDuty(page: StormPage): PagerDutyRequest | null {
  const { storm } = page;
  if (page.action === 'resolve') return { endpoint: 'enqueue', body: { event_action: 'resolve', dedup_key: storm.key } };
  if (page.action !== 'open') return null;
  return {
    endpoint: 'enqueue',
    body: {
      event_action: 'trigger',
      dedup_key: storm.key,
      payload: {
        summary: neutralise(`[CRITICAL] ${stormHeadline(page)}: ${causeLine(storm, page.cause)}`).slice(0, 1_024),
        source: 'fleet',
        severity: 'critical',
        timestamp: iso(storm.openedAt),
        component: 'postgresql-ha',
        group: storm.key,
        class: 'storm',
        custom_details: {
          storm: { ...storm, members: storm.members.slice(0, 200) },
          cause: page.cause,
          members: storm.members.length,
          clusters: stormClusters(storm).length,
        },
      },
      ...(/^https?:\/\//.test(page.runbook) ? { links: [{ href: page.runbook, text: 'Runbook: storm' }] } : {}),
      client: 'patroni-failover-pipeline',
    },
  };
}
