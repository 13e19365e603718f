import { StateConflictError } from '../../domain/errors.js';
import type { ClusterEvent } from '../../domain/events.js';
import { keepLatest, type StormRef } from '../../domain/notifierState.js';
import type { PageIncident } from '../../domain/pageLifecycle.js';
import type { AlertChannels, FleetStore, Log, SlackThread } from '../../domain/ports.js';
import { runbookLink } from '../../domain/runbooks.js';
import {
  commonCause,
  type FleetState,
  type FleetStep,
  registerMemberStatus,
  registerOpening,
  type Storm,
  type StormSettings,
  settleStorm,
} from '../../domain/storm.js';
import { type StormAction, type StormPage, stormPagerDuty, stormSlackMessage } from '../../domain/stormPages.js';

/** Runs a channel's send under its idempotency key; a failure is kept for the end, so the other channels go on. */
export type Once = <T>(key: string, send: () => Promise<T>) => Promise<T | undefined>;

export interface StormDeps {
  readonly fleet: FleetStore;
  readonly settings: StormSettings;
  /** A cluster's tags from the configuration (its availability zone, its host): the common cause is read from them. */
  readonly tagsOf: (cluster: string) => Readonly<Record<string, string>>;
  readonly channels: AlertChannels;
  readonly log: Log;
  readonly runbookBaseUrl?: string | undefined;
}

/** Many notifiers update the fleet record during a storm; each race costs one more read and write. */
const FLEET_ATTEMPTS = 12;

/** The fleet parents of the last few storms: a late member still finds its storm's thread. */
const STORM_THREADS_KEPT = 5;

/**
 * The fleet parent is edited for each of the first ten members and then every tenth: a thousand-cluster storm would
 * otherwise spend Slack's chat.update budget (about 50 a minute) on one message.
 */
const EVERY_EDIT_UP_TO = 10;
const editsAt = (n: number) => n <= EVERY_EDIT_UP_TO || n % 10 === 0;

/** `leader_changed failover`, `no_leader`: what opened an incident, in the words of the fleet page. */
export function openingKind(event: ClusterEvent): string {
  return event.type === 'leader_changed' ? `${event.type} ${event.kind}` : event.type;
}

/**
 * The fleet side of paging: registers every incident that opens with the fleet's record, sends one fleet page per
 * channel when openings make a storm, keeps it current as members join and resolve, and resolves it with the last.
 */
export class Storms {
  /** The fleet record as this process last saved it (null: read it). */
  private lastSaved: FleetState | null = null;
  /** Changes to the fleet's record waiting for the save in flight; applied and saved together after it. */
  private readonly pending: PendingChange[] = [];
  private flushing = false;
  /** Fleet parents being posted by this process, by storm: a member joining meanwhile waits for its thread. */
  private readonly announcing = new Map<string, Promise<SlackThread | null>>();

  constructor(private readonly deps: StormDeps) {}

  /** An incident opened: its storm (null when it pages alone); the fleet page sent if this opening made the storm. */
  async opened(incident: PageIncident, event: ClusterEvent, once: Once): Promise<StormRef | null> {
    const opening = { cluster: incident.cluster, incidentKey: incident.key, at: incident.openedAt, kind: openingKind(event) };
    const step = await this.mutate((fleet) => {
      const next = registerOpening(fleet, opening, this.deps.settings);
      return { fleet: next.fleet, result: next };
    });
    if (step.role === 'alone' || !step.storm) return null;
    const thread = step.role === 'started' ? await this.announced(step, once) : await this.grow(step, once);
    return { key: step.storm.key, incidentKey: incident.key, kind: opening.kind, openedAt: opening.at, thread };
  }

  /** A member escalated or resolved: the fleet page follows; the last member resolved resolves it. */
  async moved(incident: PageIncident, status: 'escalated' | 'resolved', at: number, once: Once): Promise<void> {
    const change = { incidentKey: incident.key, status, at };
    const moved = await this.mutate((fleet) => {
      const next = registerMemberStatus(fleet, change, this.deps.settings);
      return { fleet: next.fleet, result: { ...next, thread: next.storm ? (fleet.threads?.[next.storm.key] ?? null) : null } };
    });
    const { storm, resolved, thread } = moved;
    if (!storm) return;
    if (resolved) return this.resolve(resolved, thread, once);
    const done = storm.members.filter((m) => m.status === 'resolved').length;
    const { slack } = this.deps.channels;
    if (slack?.canEdit && thread && (status === 'escalated' || editsAt(done)))
      await once(`storm:${storm.key}:slack:${status}:${incident.key}`, () =>
        slack.update(thread, stormSlackMessage(this.page(storm, 'update'))),
      );
  }

  /**
   * A later event of a member, at `at`: ends the storm if every member is resolved and the window has passed since
   * the last joined. True when the storm is over (ended now or before), so the member stops asking.
   */
  async settle(ref: StormRef, at: number, once: Once): Promise<boolean> {
    // The storm's last join is no earlier than this member's: within the window of it, nothing to read.
    if (ref.openedAt !== undefined && at - ref.openedAt < this.deps.settings.windowMs) return false;
    const settled = await this.mutate((fleet) => {
      const next = settleStorm(fleet, at, this.deps.settings);
      const open = next.fleet.storm?.key === ref.key;
      return { fleet: next.fleet, result: { ...next, open, thread: fleet.threads?.[ref.key] ?? null } };
    });
    if (settled.resolved) await this.resolve(settled.resolved, settled.thread, once);
    return !settled.open;
  }

  /** Announces the storm, letting members that join meanwhile in this process wait for its Slack thread. */
  private async announced(step: FleetStep, once: Once): Promise<SlackThread | null> {
    const key = step.storm!.key;
    const announcing = this.announce(step, once);
    this.announcing.set(key, announcing);
    try {
      return await announcing;
    } finally {
      // By now the thread is in the fleet record, where every later member finds it.
      this.announcing.delete(key);
    }
  }

  /** The storm recognised: one page per channel; the Slack parent's thread is kept in the fleet record for every member. */
  private async announce(step: FleetStep, once: Once): Promise<SlackThread | null> {
    const storm = step.storm!;
    const page = this.page(storm, 'open');
    const { sns, slack, pagerduty } = this.deps.channels;
    if (sns) await once(`storm:${storm.key}:open:sns`, () => sns.publishStorm(page));
    const request = stormPagerDuty(page);
    if (pagerduty && request) await once(`storm:${storm.key}:open:pagerduty`, () => pagerduty.send(request));
    if (!slack) return null;
    const posted = await once(`storm:${storm.key}:open:slack`, () => slack.post(stormSlackMessage(page), null));
    if (!posted?.ts) return null;
    const thread = { ts: posted.ts, channel: posted.channel ?? null, openedBy: storm.key };
    await this.mutate((fleet) => ({
      fleet: { ...fleet, threads: keepLatest({ ...fleet.threads, [storm.key]: thread }, STORM_THREADS_KEPT) },
      result: null,
    }));
    return thread;
  }

  /** A member joined: the Slack parent shows it (the first few, then every tenth). */
  private async grow(step: FleetStep, once: Once): Promise<SlackThread | null> {
    const storm = step.storm!;
    // A member that joins while this process is still posting the fleet parent waits for it (its reply goes in
    // that thread); one announced by another process and not saved yet gets a parent of its own.
    const thread = step.fleet.threads?.[storm.key] ?? (await this.announcing.get(storm.key)) ?? null;
    const { slack } = this.deps.channels;
    const size = storm.members.length;
    if (slack?.canEdit && thread && editsAt(size))
      await once(`storm:${storm.key}:slack:members:${size}`, () => slack.update(thread, stormSlackMessage(this.page(storm, 'update'))));
    return thread;
  }

  private async resolve(storm: Storm, thread: SlackThread | null, once: Once): Promise<void> {
    const page = this.page(storm, 'resolve');
    const { sns, slack, pagerduty } = this.deps.channels;
    if (sns) await once(`storm:${storm.key}:resolve:sns`, () => sns.publishStorm(page));
    const request = stormPagerDuty(page);
    if (pagerduty && request) await once(`storm:${storm.key}:resolve:pagerduty`, () => pagerduty.send(request));
    if (!slack) return;
    const message = stormSlackMessage(page);
    await once(`storm:${storm.key}:resolve:slack`, () =>
      slack.canEdit && thread ? slack.update(thread, message) : slack.post(message, null),
    );
  }

  private page(storm: Storm, action: StormAction): StormPage {
    return {
      storm,
      action,
      cause: commonCause(storm, this.deps.tagsOf),
      runbook: runbookLink({ fleet: 'storm' }, this.deps.runbookBaseUrl),
    };
  }

  /**
   * Applies `change` to the fleet's record, saved at the revision it was read at; a lost race is applied again.
   * Changes are applied one at a time in this process (a batch's lanes share the record, and would only race each
   * other), and those that arrive while a save is in flight are applied together and saved in one write: in a storm
   * every opening changes the record, and one write per opening would make a thousand openings wait in turn.
   */
  private mutate<T>(change: FleetChange<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ change, resolve, reject } as PendingChange);
      if (!this.flushing) void this.flush();
    });
  }

  /** Never throws: each group's failure goes to its callers. The flag is cleared in the same turn the queue is seen empty. */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const group = this.pending.splice(0);
        try {
          const results = await this.applyTogether(group.map((p) => p.change));
          for (const [i, p] of group.entries()) p.resolve(results[i]);
        } catch (error) {
          for (const p of group) p.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Applies the changes in order, starting from the record as this process last saved it, and saves once. A save
   * from a stale copy fails on its revision and is redone on a fresh read; changes that find nothing to do on the
   * copy are checked on a fresh read too (without a save, nothing proved the copy current).
   */
  private async applyTogether(changes: readonly FleetChange<unknown>[]): Promise<unknown[]> {
    for (let attempt = 1; ; attempt++) {
      const cached = this.lastSaved;
      const loaded = cached ?? (await this.deps.fleet.loadFleetState());
      let fleet = loaded;
      const results = changes.map((change) => {
        const next = change(fleet);
        fleet = next.fleet;
        return next.result;
      });
      if (fleet === loaded) {
        if (!cached) return results;
        this.lastSaved = null;
        continue;
      }
      try {
        this.lastSaved = await this.deps.fleet.saveFleetState(fleet);
        return results;
      } catch (error) {
        this.lastSaved = null;
        if (!(error instanceof StateConflictError) || attempt >= FLEET_ATTEMPTS) throw error;
        this.deps.log.debug('another notifier updated the fleet record first; applying again', { attempt });
      }
    }
  }
}

/** One change to the fleet's record: the record after it, and what the caller learns. */
type FleetChange<T> = (fleet: FleetState) => { fleet: FleetState; result: T };

interface PendingChange {
  readonly change: FleetChange<unknown>;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: unknown) => void;
}
