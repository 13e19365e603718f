import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../../lambdas/domain/events.js';
import {
  type AttemptRecord,
  finalSuccessRun,
  outageBounds,
  probeVerdict,
  restoreTimeOf,
  stabilityWindowMs,
} from '../../../lambdas/domain/outage.js';

const trigger = makeEvent(
  { id: 'c:0000000002:000', cluster: 'c', observedAt: 10_000, previousObservedAt: 9_000, lastHealthyAt: 8_000 },
  { type: 'no_leader', lastLeader: 'pg_node1', since: 9_000 },
);
const served = { address: '10.0.0.5', port: 5432, timeline: 4 };
const fail = (at: number): AttemptRecord => ({ at, ok: false, errorClass: 'refused', message: 'connect ECONNREFUSED' });
const good = (at: number): AttemptRecord => ({ at, ok: true, someOk: true, servedBy: served });

describe('Function: outageBounds', () => {
  it('starts after the last healthy poll and before the trigger, ends between the last failure and the first good write', () => {
    // Prepare: failures at 10.2 and 10.7 s, the first good write at 11.2 s.
    const attempts = [fail(10_200), fail(10_700), good(11_200), good(11_450)];
    // Act
    const bounds = outageBounds(trigger, attempts);
    // Assess: hand-computed.
    expect(bounds).toEqual({
      startedAfter: 8_000,
      startedBefore: 10_000,
      endedAfter: 10_700,
      endedBefore: 11_200,
      downtimeMinMs: 500,
      downtimeMaxMs: 3_200,
    });
  });

  it('falls back to the poll before the trigger when no poll ever saw a healthy leader', () => {
    const bounds = outageBounds({ ...trigger, lastHealthyAt: null }, [good(10_100)]);
    expect(bounds.startedAfter).toBe(9_000);
    expect(bounds).toMatchObject({ endedAfter: null, endedBefore: 10_100, downtimeMinMs: 0, downtimeMaxMs: 1_100 });
  });

  it('counts to the last attempt when writes never came back', () => {
    const bounds = outageBounds(trigger, [fail(10_200), fail(40_200)]);
    expect(bounds).toMatchObject({ endedAfter: 40_200, endedBefore: null, downtimeMinMs: 30_000, downtimeMaxMs: 32_200 });
  });

  it('does not end the outage at an attempt in which only some writes got through: clients still failed', () => {
    const partly: AttemptRecord = { at: 10_500, ok: false, someOk: true, errorClass: 'read_only' };
    expect(outageBounds(trigger, [fail(10_200), partly, good(10_750)])).toMatchObject({ endedAfter: 10_500, endedBefore: 10_750 });
  });

  it('ends at the restore for good, not at a first good write followed by failures (HAProxy flapping)', () => {
    // Prepare: a good write at 10.45 s, failing again until 11.7 s, good from 11.95 s on.
    const attempts = [fail(10_200), good(10_450), fail(10_700), fail(11_700), good(11_950), good(12_200)];
    // Act
    const bounds = outageBounds(trigger, attempts);
    // Assess: hand-computed.
    expect(bounds).toEqual({
      startedAfter: 8_000,
      startedBefore: 10_000,
      endedAfter: 11_700,
      endedBefore: 11_950,
      downtimeMinMs: 1_500,
      downtimeMaxMs: 3_950,
    });
  });
});

describe('Function: finalSuccessRun', () => {
  it('is the trailing run of good attempts only', () => {
    const attempts = [good(1), fail(2), good(3), good(4)];
    expect(finalSuccessRun(attempts).map((a) => a.at)).toEqual([3, 4]);
    expect(finalSuccessRun([good(1), fail(2)])).toEqual([]);
  });
});

describe('Function: restoreTimeOf', () => {
  it('reads the final good run of a verdict recorded before restore-for-good, and restoredAt of a new one', () => {
    const verdict = probeVerdict(trigger, 'incident-1', [fail(10_200), good(10_450), fail(10_700), good(10_950)], 90_000);
    if (verdict.type !== 'write_verified') throw new Error('expected write_verified');
    expect(restoreTimeOf(verdict)).toBe(new Date(10_950).toISOString());
    const { firstGoodWriteAt: _first, flapping: _flapping, ...old } = verdict;
    const recordedBefore = { ...old, restoredAt: new Date(10_450).toISOString(), stableSince: new Date(10_950).toISOString() };
    expect(restoreTimeOf(recordedBefore)).toBe(new Date(10_950).toISOString());
  });
});

describe('Function: stabilityWindowMs', () => {
  it("covers HAProxy's fall × inter plus one check, and the sample HAProxy's when none is configured", () => {
    expect(stabilityWindowMs({ interSeconds: 1, fall: 3 })).toBe(4_000);
    expect(stabilityWindowMs(undefined)).toBe(12_000);
  });
});

describe('Function: probeVerdict', () => {
  it('says write_verified restored at the start of the final good run, with the first good write and the flapping', () => {
    // Prepare: writes flap once after the first success (HAProxy still balancing to the old leader).
    const attempts = [fail(10_200), good(10_450), fail(10_700), good(10_950), good(11_200)];
    // Act
    const verdict = probeVerdict(trigger, 'incident-1', attempts, 90_000);
    // Assess
    expect(verdict).toMatchObject({
      type: 'write_verified',
      trigger: { id: trigger.id, type: 'no_leader' },
      incident: 'incident-1',
      restoredAt: new Date(10_950).toISOString(),
      firstGoodWriteAt: new Date(10_450).toISOString(),
      flapping: { failedAttempts: 1, spanMs: 500 },
      attempts: 5,
      errors: { refused: 2 },
      servedBy: served,
    });
  });

  it('says write_unavailable with the last error and the deadline when no write got through', () => {
    const verdict = probeVerdict(trigger, 'incident-1', [fail(10_200), fail(10_450)], 90_000);
    expect(verdict).toMatchObject({
      type: 'write_unavailable',
      attempts: 2,
      errors: { refused: 2 },
      lastError: 'connect ECONNREFUSED',
      deadlineSeconds: 90,
    });
  });

  it('says no attempt could be made when there was none', () => {
    expect(probeVerdict(trigger, 'incident-1', [], 5_000)).toMatchObject({
      type: 'write_unavailable',
      lastError: 'no attempt could be made',
    });
  });
});
