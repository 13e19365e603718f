import { type Alert, buildAlert, slackBlocks } from '../../domain/alerts.js';
import { messageOf } from '../../domain/errors.js';
import type { ClusterEvent } from '../../domain/events.js';
import type { NotifierState } from '../../domain/notifierState.js';
import { restoreTimeOf } from '../../domain/outage.js';
import { advanceIncident, type LifecycleStep, pageMark, subjectOf } from '../../domain/pageLifecycle.js';
import { pagerDutyRequest } from '../../domain/pagerduty.js';
import type { AlertChannels, Clock, Idempotent, Log, NotifierStore, ProbeLauncher, SlackChannel, SlackThread } from '../../domain/ports.js';
import { slackIncidentMessage } from '../../domain/slackIncident.js';
import { isWriteLossEvidence } from '../../domain/writeLoss.js';

export interface NotifierDeps {
  readonly store: NotifierStore;
  readonly channels: AlertChannels;
  readonly idempotent: Idempotent;
  readonly probes: ProbeLauncher | null;
  readonly clock: Clock;
  readonly log: Log;
  /** A probe silent for this long is taken as dead (its Lambda timed out) and may be started again. @default 180000 */
  readonly probeStaleAfterMs?: number;
  /** Whether the probe can verify writes of a cluster (it has a VIP). @default every cluster */
  readonly verifiesWrites?: (cluster: string) => boolean;
  /** Where the runbooks are served (`notify.runbookBaseUrl`); each alert links its own. */
  readonly runbookBaseUrl?: string | undefined;
  /** Called once per alert, after the call that delivered it (the CLI prints them); never for a redelivery. */
  readonly onAlert?: (alert: Alert, incidentKey: string) => void;
}

const MAX_THREADS_KEPT = 20;

/**
 * Handles one recorded event: sends its alert (once, whatever the redeliveries), keeps each incident in one
 * Slack thread, and starts the write probe on the first evidence of lost writes.
 */
export class Notifier {
  constructor(private readonly deps: NotifierDeps) {}

  async handle(event: ClusterEvent): Promise<void> {
    let saved = await this.deps.store.loadNotifierState(event.cluster);
    let state = openIncidentIfNeeded(saved, event);
    const incidentKey = incidentOf(state, event);
    if (event.type === 'write_verified' || event.type === 'write_unavailable') state = this.closeProbe(state, event);
    // The probe starts before any alert is sent, and that is saved at once: the outage is measured even while SNS
    // or Slack are down, and a redelivery after a failed send does not start a second probe.
    if (this.shouldProbe(state, event)) {
      await this.deps.probes!.launch(event, incidentKey);
      state = { ...state, probeStartedAt: this.deps.clock() };
      await this.deps.store.saveNotifierState(event.cluster, state);
      saved = state;
    }
    const step = this.pageStep(state, event, incidentKey);
    if (step.incident !== (state.page ?? null))
      state = { ...state, page: step.incident, pageStep: { eventId: event.id, action: step.action, standalone: step.standalone ?? false } };
    const alert = buildAlert(event, { runbookBaseUrl: this.deps.runbookBaseUrl });
    try {
      if (alert) state = await this.deliver(alert, incidentKey, state, step);
    } finally {
      // Saved even when a channel failed: the redelivery finds the step it must repeat, not a second one.
      if (state !== saved) await this.deps.store.saveNotifierState(event.cluster, state);
    }
  }

  /** The page lifecycle's step for the event; for a redelivered record, the step it had the first time. */
  private pageStep(state: NotifierState, event: ClusterEvent, incidentKey: string): LifecycleStep {
    if (state.pageStep?.eventId === event.id)
      return { incident: state.page ?? null, action: state.pageStep.action, standalone: state.pageStep.standalone };
    return advanceIncident(state.page ?? null, event, { awaitingVerdict: this.awaitingVerdict(state, event), incidentKey });
  }

  /** A probe is measuring the cluster's open incident: the page resolves on its verdict, not before. */
  private awaitingVerdict(state: NotifierState, event: ClusterEvent): boolean {
    const verifies = this.deps.probes !== null && (this.deps.verifiesWrites?.(event.cluster) ?? true);
    return verifies && state.openIncident !== null;
  }

  /**
   * Sends the alert on every channel, each under its own idempotency key. A channel that fails does not keep the
   * others from delivering: its error is logged, and the first one is thrown at the end so the record is retried,
   * which sends again only what failed.
   */
  private async deliver(alert: Alert, incidentKey: string, state: NotifierState, step: LifecycleStep): Promise<NotifierState> {
    const { sns, slack, pagerduty } = this.deps.channels;
    // Whether this call sent anything: a redelivered record is answered from the idempotency records instead.
    let sent = false;
    const failures: unknown[] = [];
    // `counts`: the alert's own message on a channel; an edit of an incident's parent is not the alert leaving.
    const once = async <T>(key: string, send: () => Promise<T>, counts = true): Promise<T | undefined> => {
      try {
        return await this.deps.idempotent(key, async () => {
          const result = await send();
          if (counts) sent = true;
          return result;
        });
      } catch (error) {
        failures.push(error);
        this.deps.log.error('alert not delivered on one channel; the others go on', { key, error: messageOf(error) });
        return undefined;
      }
    };
    if (sns) await once(`sns:${alert.eventId}`, () => sns.publish(alert, incidentKey, pageMark(step, alert.severity)));
    const next = slack && step.action ? await this.toSlack(slack, { alert, step }, state, once) : state;
    const page = step.action && pagerduty ? pagerDutyRequest({ action: step.action, incident: subjectOf(step) }, alert) : null;
    if (pagerduty && page) await once(`pagerduty:${alert.eventId}`, () => pagerduty.send(page));
    if (failures.length > 0) throw failures[0];
    // Once per alert: when its delivery completes, on the call that sent the last of it.
    if (sent) this.deps.onAlert?.(alert, incidentKey);
    return next;
  }

  /**
   * Slack renders the incident, not the event stream: in bot mode one parent message per incident, posted when it
   * opens and edited at every step, with each event in its thread; a webhook (which can neither edit nor thread)
   * gets the opening, escalation, resolution and changes only.
   */
  private async toSlack(
    slack: SlackChannel,
    { alert, step }: { alert: Alert; step: LifecycleStep },
    state: NotifierState,
    once: <T>(key: string, send: () => Promise<T>, counts?: boolean) => Promise<T | undefined>,
  ): Promise<NotifierState> {
    const subject = subjectOf(step);
    const parent = slackIncidentMessage(subject, alert, pageMark(step, alert.severity));
    if (!slack.canEdit) {
      if (step.action !== 'update') await once(`slack:${alert.eventId}`, () => slack.post(parent, null));
      return state;
    }
    // A standalone page gets a parent of its own, never the last incident's.
    const key = subject?.key ?? alert.eventId;
    let thread = threadOf(state, key);
    let next = state;
    if (thread) {
      // A redelivery of the event that posted the parent finds it already saying this.
      const edit = thread;
      if (thread.openedBy !== alert.eventId) await once(`slack:${alert.eventId}:edit`, () => slack.update(edit, parent), false);
    } else {
      const posted = await once(`slack:${alert.eventId}:parent`, () => slack.post(parent, null), false);
      if (!posted?.ts) return state;
      thread = { ts: posted.ts, channel: posted.channel ?? null, openedBy: alert.eventId };
      next = { ...state, threads: keepRecent({ ...state.threads, [key]: thread }) };
    }
    const inThread = thread;
    await once(`slack:${alert.eventId}`, () => slack.post(slackBlocks(alert), inThread));
    return next;
  }

  private closeProbe(state: NotifierState, event: Extract<ClusterEvent, { type: 'write_verified' | 'write_unavailable' }>): NotifierState {
    if (event.type === 'write_unavailable') return { ...state, probeStartedAt: null };
    const closes = state.openIncident?.key === event.incident;
    return {
      ...state,
      probeStartedAt: null,
      lastVerifiedAt: Date.parse(restoreTimeOf(event)),
      openIncident: closes ? null : state.openIncident,
    };
  }

  /** Probe on evidence of lost writes, unless a probe runs already or writes were verified after the event. */
  private shouldProbe(state: NotifierState, event: ClusterEvent): boolean {
    if (!this.deps.probes || !isWriteLossEvidence(event)) return false;
    if (isTailOfVerifiedIncident(state, event)) return false;
    const running = state.probeStartedAt !== null && this.deps.clock() - state.probeStartedAt < (this.deps.probeStaleAfterMs ?? 180_000);
    return !running;
  }
}

/**
 * A timeline confirmed this long after writes were verified is still the promotion that incident covered: the
 * detector believes a timeline only once two sources agree, and Patroni's member key can lag the promotion by a
 * loop_wait. (A later promotion brings its own leader_changed, which opens its own incident.)
 */
const TIMELINE_TAIL_MS = 60_000;

/** Evidence that belongs to an incident whose writes were already verified: it opens nothing and probes nothing. */
function isTailOfVerifiedIncident(state: NotifierState, event: ClusterEvent): boolean {
  if (state.lastVerifiedAt === null) return false;
  if (state.lastVerifiedAt >= event.observedAt) return true;
  return event.type === 'timeline_changed' && event.observedAt - state.lastVerifiedAt <= TIMELINE_TAIL_MS;
}

function openIncidentIfNeeded(state: NotifierState, event: ClusterEvent): NotifierState {
  if (state.openIncident || !isWriteLossEvidence(event)) return state;
  // A leader restored or timeline moved after writes were verified is the tail of a closed incident.
  if (isTailOfVerifiedIncident(state, event)) return state;
  return { ...state, openIncident: { key: event.id, openedAt: event.observedAt } };
}

/** Every alert of an open incident goes to its thread; the probe's verdicts name their incident themselves. */
function incidentOf(state: NotifierState, event: ClusterEvent): string {
  if (event.type === 'write_verified' || event.type === 'write_unavailable') return event.incident;
  return state.openIncident?.key ?? event.id;
}

/** The incident's parent message; states saved before edits kept only its ts. */
function threadOf(state: NotifierState, key: string): SlackThread | null {
  const saved = state.threads[key];
  if (!saved) return null;
  return typeof saved === 'string' ? { ts: saved, channel: null } : saved;
}

function keepRecent<T>(threads: Record<string, T>): Record<string, T> {
  const entries = Object.entries(threads);
  return Object.fromEntries(entries.slice(Math.max(0, entries.length - MAX_THREADS_KEPT)));
}
