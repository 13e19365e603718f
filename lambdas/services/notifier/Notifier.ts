import { type Alert, buildAlert, slackBlocks } from '../../domain/alerts.js';
import { messageOf, StateConflictError } from '../../domain/errors.js';
import type { ClusterEvent } from '../../domain/events.js';
import { appliedStepOf, keepLatest, type NotifierState, type StormRef, withAppliedStep } from '../../domain/notifierState.js';
import { restoreTimeOf } from '../../domain/outage.js';
import { advanceIncident, type LifecycleStep, pageMark, riskKeyOf, subjectOf } from '../../domain/pageLifecycle.js';
import { pagerDutyRequest } from '../../domain/pagerduty.js';
import type { AlertChannels, Clock, Idempotent, Log, NotifierStore, ProbeLauncher, SlackChannel, SlackThread } from '../../domain/ports.js';
import { slackIncidentMessage } from '../../domain/slackIncident.js';
import { isWriteLossEvidence } from '../../domain/writeLoss.js';
import type { Once, Storms } from './storms.js';

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
  /** Groups incidents that open on many clusters at once under one fleet page; none: every incident pages alone. */
  readonly storms?: Storms | null | undefined;
  /** Called once per alert, as it leaves for SNS (the CLI prints them); never again for a redelivery. */
  readonly onAlert?: (alert: Alert, incidentKey: string) => void;
}

const MAX_THREADS_KEPT = 20;
/** Two notifiers rarely race more than once on one event; a third loss means something else is wrong. */
const CONFLICT_ATTEMPTS = 4;

/**
 * Handles one recorded event: sends its alert (once, whatever the redeliveries), keeps each incident in one
 * Slack thread, and starts the write probe on the first evidence of lost writes.
 */
export class Notifier {
  constructor(private readonly deps: NotifierDeps) {}

  /**
   * Applies the event to the cluster's notifier state and delivers its alert. Two notifiers reading the same
   * records (an overlapping invocation, a second pipeline) serialise on the state's revision: the one that saves
   * second applies the event again on the state it lost to, where it finds the step already taken.
   *
   * `batch` keeps each cluster's state as last saved between the events of one stream batch, so a cluster's
   * events load it once; the revision check still catches any other writer (then it is loaded again).
   */
  async handle(event: ClusterEvent, batch?: Map<string, NotifierState>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.apply(event, batch ?? new Map());
      } catch (error) {
        batch?.delete(event.cluster);
        if (!(error instanceof StateConflictError) || attempt >= CONFLICT_ATTEMPTS) throw error;
        this.deps.log.info('another notifier saved this cluster first; applying the event on its state', { eventId: event.id, attempt });
      }
    }
  }

  private async apply(event: ClusterEvent, batch: Map<string, NotifierState>): Promise<void> {
    const save = async (next: NotifierState) => {
      const stored = await this.deps.store.saveNotifierState(event.cluster, next);
      batch.set(event.cluster, stored);
      return stored;
    };
    let saved = batch.get(event.cluster) ?? (await this.deps.store.loadNotifierState(event.cluster));
    let state = openIncidentIfNeeded(saved, event);
    const incidentKey = incidentOf(state, event);
    if (event.type === 'write_verified' || event.type === 'write_unavailable') state = this.closeProbe(state, event);
    // The probe starts before any alert is sent: the outage is measured even while SNS or Slack are down. It is
    // claimed in the state first, so of two notifiers (or a redelivery after a failed send) only one starts it.
    if (this.shouldProbe(state, event)) {
      state = await save({ ...state, probeStartedAt: this.deps.clock() });
      saved = state;
      await this.launchProbe(event, incidentKey, state);
    }
    const step = this.pageStep(state, event, incidentKey);
    const alert = buildAlert(event, { runbookBaseUrl: this.deps.runbookBaseUrl });
    // An audit-only event (a role, a timeline) pages nobody and only restates the incident's latest words: it is
    // not recorded as a step, so it costs no save (a replay of it sends nothing either way).
    if (!appliedStepOf(state, event.id) && (alert || step.action)) {
      const applied = {
        eventId: event.id,
        action: step.action,
        standalone: step.standalone ?? false,
        incidentKey: subjectOf(step)?.key ?? null,
      };
      state = withAppliedStep({ ...state, page: step.incident }, applied);
    }
    try {
      if (alert) state = await this.deliver(alert, incidentKey, state, step);
    } finally {
      // Saved even when a channel failed: the redelivery finds the step it must repeat, not a second one.
      if (state !== saved) await save(state);
    }
  }

  /** Launches the claimed probe; a launch that fails gives the claim back, so the redelivery launches it. */
  private async launchProbe(event: ClusterEvent, incidentKey: string, claimed: NotifierState): Promise<void> {
    try {
      await this.deps.probes!.launch(event, incidentKey);
    } catch (error) {
      await this.deps.store.saveNotifierState(event.cluster, { ...claimed, probeStartedAt: null }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The page lifecycle's step for the event. For an event already applied, the step it had: the same, while its
   * incident is still the cluster's current one; nothing more once the page has moved on (whoever applied it
   * first sent its messages; the idempotency records answer for them).
   */
  private pageStep(state: NotifierState, event: ClusterEvent, incidentKey: string): LifecycleStep {
    const current = state.page ?? null;
    const applied = appliedStepOf(state, event.id);
    if (!applied) return advanceIncident(current, event, { awaitingVerdict: this.awaitingVerdict(state, event), incidentKey });
    const { action, standalone = false } = applied;
    // States saved before steps named their incident: the current one, as then.
    const sameIncident = applied.incidentKey === undefined || standalone || current?.key === applied.incidentKey;
    return { incident: current, action: sameIncident ? action : null, standalone };
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
    const failures: unknown[] = [];
    const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await run();
      } catch (error) {
        failures.push(error);
        this.deps.log.error('alert not delivered on one channel; the others go on', { key: what, error: messageOf(error) });
        return undefined;
      }
    };
    const once: Once = (key, send) => attempt(key, () => this.deps.idempotent(key, send));
    const tracked = await attempt(`fleet:${alert.eventId}`, () => this.stormOf(step, alert, state, once));
    const { storm, next: grouped } = tracked ?? { storm: null, next: state };
    const { onAlert } = this.deps;
    // Once per alert whoever sends it (two notifiers may each send part of it): with the SNS publish, under its
    // idempotency record; without SNS, under a record of its own.
    if (sns) {
      await once(`sns:${alert.eventId}`, async () => {
        const messageId = await sns.publish(alert, incidentKey, pageMark(step, alert.severity, storm?.key));
        onAlert?.(alert, incidentKey);
        return messageId;
      });
    }
    const grouping = storm ? { group: storm.key, class: storm.kind } : undefined;
    const page = step.action && pagerduty ? pagerDutyRequest({ action: step.action, incident: subjectOf(step), grouping }, alert) : null;
    if (pagerduty && page) await once(`pagerduty:${alert.eventId}`, () => pagerduty.send(page));
    // Slack last: its channel pace (one message a second after a burst) never holds the pager back.
    const next = slack && step.action ? await this.toSlack(slack, { alert, step, storm }, grouped, once) : grouped;
    if (failures.length > 0) throw failures[0];
    if (onAlert && !sns) await this.deps.idempotent(`delivered:${alert.eventId}`, async () => onAlert(alert, incidentKey));
    return next;
  }

  /**
   * The storm the step's incident is grouped under: registered with the fleet when it opens (which may send or
   * update the fleet page), and its escalation or resolution passed on. A fleet record that cannot be read or
   * written costs the grouping, never the cluster's own page (the record is retried for it).
   */
  private async stormOf(
    step: LifecycleStep,
    alert: Alert,
    state: NotifierState,
    once: Once,
  ): Promise<{ storm: StormRef | null; next: NotifierState }> {
    const subject = subjectOf(step);
    const known = subject && state.storm?.incidentKey === subject.key ? state.storm : null;
    const storms = this.deps.storms;
    if (!storms || !subject) return { storm: known, next: state };
    const at = alert.event.observedAt;
    let storm = known;
    if (step.action === 'open' && !subject.planned) storm = known ?? (await storms.opened(subject, alert.event, once));
    else {
      if (step.action === 'resolve' || step.action === 'escalate')
        await storms.moved(subject, step.action === 'resolve' ? 'resolved' : 'escalated', at, once);
      // Any later event of a member may be the first after the storm's window: the one that ends it.
      if (known && !known.over && (await storms.settle(known, at, once))) storm = { ...known, over: true };
    }
    return { storm, next: storm === known ? state : { ...state, storm } };
  }

  /**
   * Slack renders the incident, not the event stream: in bot mode one parent message per incident, posted when it
   * opens and edited at every step, with each event in its thread; a webhook (which can neither edit nor thread)
   * gets the opening, escalation, resolution and changes only.
   */
  private async toSlack(
    slack: SlackChannel,
    { alert, step, storm }: { alert: Alert; step: LifecycleStep; storm: StormRef | null },
    state: NotifierState,
    once: Once,
  ): Promise<NotifierState> {
    const subject = subjectOf(step);
    const parent = slackIncidentMessage(subject, alert, pageMark(step, alert.severity));
    if (!slack.canEdit) {
      // A webhook can neither thread nor edit: a storm's members are in its fleet messages only.
      if (step.action !== 'update' && !storm) await once(`slack:${alert.eventId}`, () => slack.post(parent, null));
      return state;
    }
    // A standalone page gets a parent of its own, never the last incident's; a risk's end edits the risk's parent.
    const key = subject?.key ?? riskKeyOf(alert.event) ?? alert.eventId;
    let thread = threadOf(state, key);
    let next = state;
    if (thread) {
      // A redelivery of the event that posted the parent finds it already saying this.
      const edit = thread;
      if (thread.openedBy !== alert.eventId) await once(`slack:${alert.eventId}:edit`, () => slack.update(edit, parent));
    } else {
      // A storm member's incident message is a reply in the fleet parent's thread, edited there as it moves.
      const posted = await once(`slack:${alert.eventId}:parent`, () => slack.post(parent, storm?.thread ?? null));
      if (!posted?.ts) return state;
      thread = { ts: posted.ts, channel: posted.channel ?? null, openedBy: alert.eventId };
      next = { ...state, threads: keepLatest({ ...state.threads, [key]: thread }, MAX_THREADS_KEPT) };
    }
    // Slack threads are one level deep: a storm member's details stay in its edited reply.
    if (storm?.thread) return next;
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
