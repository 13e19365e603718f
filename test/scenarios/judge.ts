// The scenario suite's judge: what every scenario must hold, whatever fault it injected.
import { expect } from 'vitest';
import type { PatroniMajor } from '../../lab/topology.js';
import { severityOf } from '../../lambdas/domain/alerts.js';
import { anatomySummary, type FailoverCause } from '../../lambdas/domain/anatomy.js';
import type { ClusterEvent } from '../../lambdas/domain/events.js';
import { describeEvent, type ScenarioLab, type ScenarioResult, type ScenarioWindow } from './harness.js';

type WriteVerified = Extract<ClusterEvent, { type: 'write_verified' }>;

/** What a scenario expects beyond the audit-trail checks every scenario gets. */
export interface ScenarioExpectations {
  /** The probe's restore time within 0.3 s of the independent writer's (stop, kill -9, switchover). */
  readonly restoredLikeTheWriter?: boolean;
  /** The cause the verdict's anatomy must name. */
  readonly cause?: FailoverCause;
}

/** One scenario's outcome to judge. */
interface Judged {
  readonly name: string;
  readonly expected: string;
  readonly window: ScenarioWindow;
  readonly started: number;
  readonly check: (w: ScenarioWindow) => void;
  readonly expectations: ScenarioExpectations;
}

/** Judges one scenario's window and records it in the report, passed or not. */
export async function judge(lab: ScenarioLab, patroni: PatroniMajor, judged: Judged): Promise<void> {
  const { name, expected, window, started, check, expectations } = judged;
  const leaderChanges = window.events.filter((e) => e.type === 'leader_changed');
  const verified = window.events.find((e): e is WriteVerified => e.type === 'write_verified');
  const outage = lab.writer.outageAfter(window.startedAt);
  const anatomy = verified?.anatomy ?? null;
  const result: ScenarioResult = {
    name,
    expected,
    observed: window.events.map(describeEvent),
    leaderChanges: leaderChanges.length,
    historyRows: window.newHistory.length,
    alerts: lab.alerts.filter((a) => window.events.some((e) => e.id === a.eventId)).length,
    writerOutageSeconds: outage?.seconds ?? null,
    probeBoundsSeconds: verified ? [verified.outage.downtimeMinMs / 1000, verified.outage.downtimeMaxMs / 1000] : null,
    // Only when the probe saw writes fail: a probe started after writes were back measures nothing.
    restoreErrorMs: verified && outage && verified.outage.endedAfter !== null ? Date.parse(verified.restoredAt) - outage.end : null,
    anatomy: anatomy ? anatomySummary(anatomy) : null,
    seconds: (Date.now() - started) / 1000,
    passed: false,
  };
  result.messages = await lab.messagesFor(window);
  lab.results.push(result);
  const context = `${name} on Patroni ${patroni}, ${lab.profile} profile: ${result.observed.join(' | ')}`;
  expect(window.settled, `did not reach its end state in time: ${context}`).toBe(true);
  // None doubled: one id per event, and at most one leader_changed per new timeline.
  expect(new Set(window.events.map((e) => e.id)).size, context).toBe(window.events.length);
  // None missed: one leader_changed per promotion of another member Patroni recorded, to the member it names;
  // a leader re-promoted after losing its lock (etcd down) shows as the timeline moving past that row.
  const handovers = window.newHistory.filter(
    (row, i) => row.newLeader !== (i === 0 ? window.leaderBefore : window.newHistory[i - 1]!.newLeader),
  );
  expect(
    leaderChanges.map((e) => (e as Extract<ClusterEvent, { type: 'leader_changed' }>).to),
    context,
  ).toEqual(handovers.map((row) => row.newLeader));
  const lastRow = window.newHistory.at(-1);
  if (lastRow) {
    const timelines = window.events.filter((e): e is Extract<ClusterEvent, { type: 'timeline_changed' }> => e.type === 'timeline_changed');
    expect(Math.max(0, ...timelines.map((e) => e.to)), context).toBeGreaterThan(lastRow.endedTimeline);
  }
  // Every event worth an alert left once, and nothing else did.
  const alerted = window.events
    .filter((e) => severityOf(e) !== null)
    .map((e) => e.id)
    .sort();
  const sent = lab.alerts
    .filter((a) => window.events.some((e) => e.id === a.eventId))
    .map((a) => a.eventId)
    .sort();
  expect(sent, context).toEqual(alerted);
  if (verified && outage) {
    // The writer's outage lies within the probe's bounds (the writer writes every 100 ms).
    expect(outage.end - outage.start, context).toBeGreaterThanOrEqual(verified.outage.downtimeMinMs - 100);
    expect(outage.end - outage.start, context).toBeLessThanOrEqual(verified.outage.downtimeMaxMs + 100);
  }
  if (expectations.restoredLikeTheWriter && result.restoreErrorMs !== null) {
    // Issue 13: restored for good when the writer's clients were, in every run.
    expect(Math.abs(result.restoreErrorMs), `restore error: ${context}`).toBeLessThanOrEqual(300);
  }
  if (expectations.cause) {
    expect(anatomy?.cause.kind, `cause: ${JSON.stringify(anatomy?.cause)} ${context}`).toBe(expectations.cause);
    expect(anatomy!.phases.reduce((sum, p) => sum + p.durationMs, 0)).toBe(anatomy!.outageMs);
    if (anatomy!.predicted) expect(anatomy!.longerThanPredicted, `${anatomySummary(anatomy!)} ${context}`).toBe(false);
  }
  check(window);
  result.passed = true;
}

/** Runs `act` in a scenario window and judges what it left. */
export function scenarioKit(lab: ScenarioLab, patroni: PatroniMajor) {
  return {
    async scenario(
      name: string,
      expected: string,
      act: () => Promise<void>,
      done: (events: ClusterEvent[]) => boolean,
      check: (w: ScenarioWindow) => void,
      expectations: ScenarioExpectations = {},
    ): Promise<void> {
      const started = Date.now();
      const window = await lab.window(act, done);
      await judge(lab, patroni, { name, expected, window, started, check, expectations });
    },
  };
}
