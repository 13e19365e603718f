import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseClusterView, parseMemberReport } from '../../../lambdas/adapters/patroni/parse.js';
import type { ClusterState } from '../../../lambdas/domain/clusterState.js';
import { detect } from '../../../lambdas/domain/detector.js';
import { messageOf } from '../../../lambdas/domain/errors.js';
import type { ClusterEvent } from '../../../lambdas/domain/events.js';
import type { ClusterView, MemberObservation, Observation } from '../../../lambdas/domain/model.js';
import { jsonPaths as paths, replaceAt } from '../../support/jsonPaths.js';
import { recordedBodies } from '../../support/recorded.js';

/*
 * The detector fed what the poller really feeds it: real Patroni 4.1.5 bodies through the real parsers, with one
 * value replaced anywhere in one body of an observation (issue 17). A sequence starts and ends with consistent
 * polls of a healthy cluster on timeline 3 led by pg_node1; whatever came between, the end must be believed.
 */

const v4 = recordedBodies(4);
const NAMES = ['pg_node1', 'pg_node2', 'pg_node3'] as const;
const URLS = NAMES.map((_, i) => `http://10.0.0.${i + 4}:8008`);
const TIMELINE = 3;

/** The four bodies of one healthy poll: three `/patroni` and the `/cluster` the first member serves. */
function healthyBodies(names: readonly string[] = NAMES, leader = 0, timeline = TIMELINE): unknown[] {
  const patroni = names.map((name, i) => {
    const recorded = i === leader ? v4.patroni_primary_running! : v4.patroni_replica_running!;
    return { ...recorded, timeline, patroni: { ...(recorded.patroni as object), name } };
  });
  const cluster = v4['cluster_leader-running+replica-streaming+replica-streaming']!;
  const members = (cluster.members as Record<string, unknown>[]).map((m, i) => ({
    ...m,
    name: names[i],
    role: i === leader ? 'leader' : 'replica',
    api_url: `${URLS[i]}/patroni`,
    timeline,
  }));
  return [...patroni, { ...cluster, members }];
}

/** What the poller makes of four bodies: a failed parse is that member's invalid_reply, or no `/cluster`. */
function observe(bodies: unknown[], observedAt: number, names: readonly string[] = NAMES): Observation {
  const members = names.map((name, i): MemberObservation => {
    try {
      return { name, url: URLS[i]!, status: 'ok', report: { ...parseMemberReport(bodies[i], URLS[i]!), name } };
    } catch (error) {
      return { name, url: URLS[i]!, status: 'invalid_reply', error: messageOf(error) };
    }
  });
  let view: ClusterView | null = null;
  try {
    view = parseClusterView(bodies[3], `${URLS[0]}/cluster`);
  } catch {
    view = null;
  }
  return { cluster: 'fuzz', observedAt, startedAt: observedAt - 50, members, view, viewError: view ? null : 'invalid', history: null };
}

/** The highest timeline any source of an observation reports. */
function highestReported(observation: Observation): number {
  const fromMembers = observation.members.map((m) => (m.status === 'ok' ? (m.report.timeline ?? 0) : 0));
  const fromView = observation.view?.members.map((m) => m.timeline ?? 0) ?? [];
  return Math.max(0, ...fromMembers, ...fromView);
}

const healthy = healthyBodies();
const targets = healthy.flatMap((body, i) => paths(body).map((path) => [i, path] as const));

/**
 * Replacements: anything JSON can hold, and as often the plausible lies a wrong member tells (a nearby timeline,
 * another role or state, another name), which is where a detector can be fooled.
 */
const replacement = fc.oneof(
  fc.jsonValue(),
  fc.integer({ min: 0, max: TIMELINE + 40 }),
  fc.constantFrom('primary', 'master', 'replica', 'demoted', 'leader', 'sync_standby', 'running', 'stopped', 'crashed', 'unknown'),
  fc.constantFrom(...NAMES, 'mallory', 'denemek', 'other'),
  fc.boolean(),
);

/** One poll with one value replaced somewhere in one of its bodies. */
const mutatedPoll = fc.tuple(fc.nat({ max: targets.length - 1 }), replacement).map(([which, value]) => {
  const [body, path] = targets[which]!;
  return healthy.map((b, i) => (i === body ? replaceAt(b, path, value) : b));
});

describe('Fuzz: detect over sequences of real, single-value-mutated observations (issue 17)', () => {
  it('never throws, never moves a timeline back or past every source, and believes the consistent polls that follow', () => {
    fc.assert(
      fc.property(fc.array(mutatedPoll, { minLength: 1, maxLength: 8 }), (middle) => {
        const polls = [healthy, ...middle, healthy, healthy];
        let state: ClusterState | null = null;
        const events: ClusterEvent[] = [];
        let timeline = 0;
        polls.forEach((bodies, i) => {
          const observation = observe(bodies, (i + 1) * 1_000);
          const detection = detect(state, observation, { scope: 'denemek' });
          for (const event of detection.events) {
            if (event.type === 'timeline_changed') expect(event.to).toBeLessThanOrEqual(highestReported(observation));
          }
          const next = detection.state.timeline ?? 0;
          expect(next).toBeGreaterThanOrEqual(timeline);
          timeline = next;
          events.push(...detection.events);
          state = detection.state;
        });
        const final = state as unknown as ClusterState;
        // The consistent end is believed: the leader, the timeline, one primary, no leader missing.
        expect(final).toMatchObject({ leader: 'pg_node1', timeline: TIMELINE, splitBrain: null, noLeaderReported: false });
        // No timeline was ever recorded that the consistent polls contradict (timelines never go back).
        expect(events.filter((e) => e.type === 'timeline_changed')).toEqual([]);
        // Whatever leader changes a wrong reply caused, the last one recorded hands the lock back to pg_node1.
        const changes = events.filter((e) => e.type === 'leader_changed');
        if (changes.length > 0) expect(changes.at(-1)).toMatchObject({ to: 'pg_node1' });
      }),
      { numRuns: 10_000 },
    );
  }, 180_000);

  it('follows members named like the properties every JavaScript object has, through state that went to the store and back', () => {
    // Patroni allows any name of letters, digits and . _ @ : + -, so `constructor` is a valid member name; a lookup
    // that reached Object.prototype saw a member that was never there (`__proto__` the parser refuses).
    const names = ['constructor', 'toString', 'hasOwnProperty'];
    const polls = [healthyBodies(names, 0, 3), healthyBodies(names, 0, 3), healthyBodies(names, 1, 4), healthyBodies(names, 1, 4)];
    let state: ClusterState | null = null;
    const events: ClusterEvent[] = [];
    polls.forEach((bodies, i) => {
      const detection = detect(state, observe(bodies, (i + 1) * 1_000, names), { scope: 'denemek' });
      events.push(...detection.events);
      state = JSON.parse(JSON.stringify(detection.state)) as ClusterState;
    });
    expect(events.filter((e) => e.type === 'leader_changed')).toEqual([expect.objectContaining({ from: 'constructor', to: 'toString' })]);
    expect(state).toMatchObject({ leader: 'toString', timeline: 4 });
  });
});
