import type { EventType } from './events.js';

/** The pipeline's own alarms, each with a runbook of the same name (docs/runbooks/alarm-<name>.md). */
export const ALARM_RUNBOOKS = [
  'poller-errors',
  'no-poll-heartbeat',
  'shard-heartbeat',
  'notifier-dead-letters',
  'notifier-iterator-age',
  'failed-invocations',
  'write-unavailable',
  'function-errors',
  'throttles',
] as const;

export type AlarmRunbook = (typeof ALARM_RUNBOOKS)[number];

/** Where the runbooks live when no base URL is configured: the docs shipped with the package and the repository. */
const RUNBOOK_PATH = 'docs/runbooks';

/**
 * The runbook of a page-worthy event (`docs/runbooks/<event>.md`), of an alarm (`alarm-<name>.md`) or of a fleet
 * storm (`storm.md`), under the configured base URL (`notify.runbookBaseUrl`, e.g. where the team's wiki or
 * repository serves them), else as the path in the package.
 */
export function runbookLink(topic: { event: EventType } | { alarm: AlarmRunbook } | { fleet: 'storm' }, baseUrl?: string): string {
  const name = 'event' in topic ? topic.event : 'alarm' in topic ? `alarm-${topic.alarm}` : topic.fleet;
  return `${baseUrl ? baseUrl.replace(/\/+$/, '') : RUNBOOK_PATH}/${name}.md`;
}
