import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseClusterView, parseHistory, parseMemberReport } from '../../../../lambdas/adapters/patroni/parse.js';
import { PatroniReplyError } from '../../../../lambdas/domain/errors.js';
import { recordedBodies } from '../../../support/recorded.js';

const ROLES = ['primary', 'replica', 'standby_leader', 'demoted', 'promoted', 'uninitialized', 'unknown'];
const CLUSTER_ROLES = ['leader', 'standby_leader', 'sync_standby', 'quorum_standby', 'replica', 'unknown'];
const recorded = ([3, 4] as const).flatMap((major) => Object.values(recordedBodies(major)));

/** A real body with one value somewhere replaced by anything JSON can hold. */
const mutatedBody = fc.tuple(fc.constantFrom(...recorded), fc.jsonValue(), fc.nat()).map(([body, value, pick]) => {
  const copy = structuredClone(body) as Record<string, unknown> | unknown[];
  const keys = Object.keys(copy);
  if (keys.length > 0) (copy as Record<string, unknown>)[keys[pick % keys.length]!] = value;
  return copy;
});

/** Parsing either succeeds with values of our vocabulary, or fails with PatroniReplyError: nothing else. */
function parsesOrRefuses(parse: () => unknown, check: (value: never) => void): void {
  let value: unknown;
  try {
    value = parse();
  } catch (error) {
    expect(error).toBeInstanceOf(PatroniReplyError);
    return;
  }
  check(value as never);
}

describe('Fuzz: Patroni reply parsers (fast-check, 10,000+ cases a run)', () => {
  const anyBody = fc.oneof(fc.jsonValue(), mutatedBody);

  it('parseMemberReport never throws anything but PatroniReplyError, and never returns a role outside the vocabulary', () => {
    fc.assert(
      fc.property(anyBody, (body) =>
        parsesOrRefuses(
          () => parseMemberReport(body, 'u'),
          (r: { role: string; timeline: number | null }) => {
            expect(ROLES).toContain(r.role);
            expect(r.timeline === null || Number.isInteger(r.timeline)).toBe(true);
          },
        ),
      ),
      { numRuns: 4_000 },
    );
  });

  it('parseClusterView never throws anything but PatroniReplyError', () => {
    fc.assert(
      fc.property(anyBody, (body) =>
        parsesOrRefuses(
          () => parseClusterView(body, 'u'),
          (v: { members: { role: string; lagBytes: number | null }[] }) => {
            for (const m of v.members) {
              expect(CLUSTER_ROLES).toContain(m.role);
              expect(m.lagBytes === null || m.lagBytes >= 0).toBe(true);
            }
          },
        ),
      ),
      { numRuns: 4_000 },
    );
  });

  it('parseHistory never throws anything but PatroniReplyError, and keeps every row it accepts', () => {
    const rows = fc.array(
      fc.tuple(fc.integer({ min: -5, max: 1e9 }), fc.integer(), fc.string(), fc.option(fc.string()), fc.option(fc.string())),
      { maxLength: 20 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), rows), (body) =>
        parsesOrRefuses(
          () => parseHistory(body, 'u'),
          (entries: unknown[]) => expect(entries).toHaveLength((body as unknown[]).length),
        ),
      ),
      { numRuns: 4_000 },
    );
  });
});
