import type { Alert, Severity } from './alerts.js';
import { type PageAction, type PageIncident, riskKeyOf } from './pageLifecycle.js';
import { neutralise } from './text.js';

/** PagerDuty's limits: a summary of at most 1024 characters, a dedup_key of at most 255. */
const SUMMARY_MAX = 1_024;
const DEDUP_KEY_MAX = 255;
/** custom_details stay small: PagerDuty caps an event at 512 KB, and the audit trail has the whole record. */
const DETAILS_MAX_BYTES = 64 * 1024;

/** One request to the Events API v2, without the routing key (the adapter adds it and never shows it). */
export type PagerDutyRequest =
  | { readonly endpoint: 'enqueue'; readonly body: AlertEventBody }
  | { readonly endpoint: 'change'; readonly body: ChangeEventBody };

interface Link {
  readonly href: string;
  readonly text: string;
}

export interface AlertEventBody {
  readonly event_action: 'trigger' | 'resolve';
  readonly dedup_key: string;
  readonly payload?: {
    readonly summary: string;
    readonly source: string;
    readonly severity: 'critical' | 'error' | 'warning' | 'info';
    readonly timestamp: string;
    readonly component: string;
    readonly group: string;
    readonly class: string;
    readonly custom_details: Record<string, unknown>;
  };
  readonly links?: readonly Link[];
  readonly client?: string;
}

export interface ChangeEventBody {
  readonly payload: {
    readonly summary: string;
    readonly source: string;
    readonly timestamp: string;
    readonly custom_details: Record<string, unknown>;
  };
  readonly links?: readonly Link[];
}

/** A storm member's alert carries the storm as its group and its failure kind as its class: PagerDuty groups on them. */
export interface PagerDutyGrouping {
  readonly group: string;
  readonly class: string;
}

const PAGERDUTY_SEVERITY: Record<Severity, 'critical' | 'warning' | 'info'> = { critical: 'critical', warning: 'warning', info: 'info' };

/** What the lifecycle's step means on PagerDuty: open and escalate trigger, resolve resolves what was paged, a change is a change event. */
export function pagerDutyRequest(
  step: { action: PageAction; incident: PageIncident | null; grouping?: PagerDutyGrouping | undefined },
  alert: Alert,
): PagerDutyRequest | null {
  const { action, incident } = step;
  const risk = riskKeyOf(alert.event);
  const dedupKey = (incident?.key ?? risk ?? alert.eventId).slice(0, DEDUP_KEY_MAX);
  switch (action) {
    case 'open':
    case 'escalate':
      return { endpoint: 'enqueue', body: trigger(alert, incident, dedupKey, step.grouping) };
    case 'resolve':
      return incident?.paged || risk ? { endpoint: 'enqueue', body: { event_action: 'resolve', dedup_key: dedupKey } } : null;
    case 'change':
      return {
        endpoint: 'change',
        body: {
          payload: {
            summary: summary(alert, incident),
            source: alert.cluster,
            timestamp: alert.occurredAt,
            custom_details: details(alert, incident),
          },
          ...links(alert),
        },
      };
    case 'update':
      return null;
  }
}

function trigger(alert: Alert, incident: PageIncident | null, dedupKey: string, grouping?: PagerDutyGrouping): AlertEventBody {
  return {
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: summary(alert, incident),
      source: alert.cluster,
      severity: PAGERDUTY_SEVERITY[incident?.severity ?? alert.severity],
      timestamp: alert.occurredAt,
      component: 'postgresql-ha',
      group: grouping?.group ?? alert.cluster,
      class: grouping?.class ?? alert.type,
      custom_details: details(alert, incident),
    },
    ...links(alert),
    client: 'patroni-failover-pipeline',
  };
}

/** `[CRITICAL] orders-db: no leader since ...`: the incident's severity, cluster and latest words, one line. */
function summary(alert: Alert, incident: PageIncident | null): string {
  const severity = (incident?.severity ?? alert.severity).toUpperCase();
  const text = neutralise(`[${severity}] ${alert.cluster}: ${alert.text}`);
  return text.length <= SUMMARY_MAX ? text : `${text.slice(0, SUMMARY_MAX - 3)}...`;
}

/** The event and the incident as PagerDuty shows them under "details"; bounded, the audit trail has the rest. */
function details(alert: Alert, incident: PageIncident | null): Record<string, unknown> {
  const full = { event: alert.event, incident, runbook: alert.runbook };
  if (Buffer.byteLength(JSON.stringify(full)) <= DETAILS_MAX_BYTES) return full;
  return {
    eventId: alert.eventId,
    type: alert.type,
    text: alert.text.slice(0, 2_000),
    incident,
    runbook: alert.runbook,
    truncated: 'read the event from the audit trail by eventId',
  };
}

/** PagerDuty links need a URL; a runbook that is a path in the package stays in the details. */
function links(alert: Alert): { links?: readonly Link[] } {
  return /^https?:\/\//.test(alert.runbook) ? { links: [{ href: alert.runbook, text: `Runbook: ${alert.type}` }] } : {};
}
