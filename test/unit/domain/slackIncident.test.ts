import { describe, expect, it } from 'vitest';
import { buildAlert } from '../../../lambdas/domain/alerts.js';
import { advanceIncident } from '../../../lambdas/domain/pageLifecycle.js';
import { slackIncidentMessage } from '../../../lambdas/domain/slackIncident.js';
import { leaderChangedEvent, makeTestEvent, unreachableWithError } from '../../support/factories.js';

const header = (message: { blocks: readonly unknown[] }) => (message.blocks[0] as { text: { text: string } }).text.text;

describe('Function: slackIncidentMessage', () => {
  it('shows the incident open, then resolved with the measured outage, on the same parent', () => {
    const lost = unreachableWithError('connection refused', true);
    const opened = advanceIncident(null, lost, { awaitingVerdict: true, incidentKey: lost.id });
    const open = slackIncidentMessage(opened.incident, buildAlert(lost)!, { action: 'open', severity: 'warning' });
    expect(header(open)).toBe('WARNING denemek: member unreachable');
    const verdict = makeTestEvent(
      {
        type: 'write_verified',
        trigger: { id: lost.id, type: 'member_unreachable' },
        incident: lost.id,
        restoredAt: new Date(9_000).toISOString(),
        attempts: 40,
        errors: {},
        servedBy: { address: '10.0.0.2', port: 5432, timeline: 2 },
        outage: { startedAfter: 0, startedBefore: 1, endedAfter: 2, endedBefore: 3, downtimeMinMs: 3_000, downtimeMaxMs: 4_200 },
      },
      9_500,
    );
    const resolved = advanceIncident(opened.incident, verdict, { awaitingVerdict: true, incidentKey: lost.id });
    const done = slackIncidentMessage(resolved.incident, buildAlert(verdict)!, { action: 'resolve', severity: 'warning' });
    expect(header(done)).toBe('RESOLVED denemek: write verified');
    expect(JSON.stringify(done.blocks)).toContain('3.0 s to 4.2 s of failed writes (measured)');
    expect(JSON.stringify(done.blocks)).toContain(`incident ${lost.id}`);
  });

  it('escapes what a reply said, in every field', () => {
    const hostile = unreachableWithError('answered "<!channel> <http://evil.example/|open> & more\n\u001b[31m"', true);
    const step = advanceIncident(null, hostile, { awaitingVerdict: false, incidentKey: hostile.id });
    const all = JSON.stringify(slackIncidentMessage(step.incident, buildAlert(hostile)!, { action: 'open', severity: 'warning' }));
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<http://evil.example');
    expect(all).toContain('&lt;!channel&gt;');
    expect(all).not.toMatch(/\\u001b/);
  });

  it('names a switchover a change, and DONE once its writes are verified', () => {
    const switchover = leaderChangedEvent(
      { id: 'denemek:0000000050:000', cluster: 'denemek', observedAt: 3_000, previousObservedAt: 2_000 },
      { kind: 'switchover' },
    );
    const step = advanceIncident(null, switchover, { awaitingVerdict: true, incidentKey: switchover.id });
    expect(header(slackIncidentMessage(step.incident, buildAlert(switchover)!, { action: 'change', severity: 'info' }))).toMatch(
      /^CHANGE denemek/,
    );
    const resolvedIncident = { ...step.incident!, status: 'resolved' as const };
    expect(header(slackIncidentMessage(resolvedIncident, buildAlert(switchover)!, { action: 'resolve', severity: 'info' }))).toMatch(
      /^DONE denemek/,
    );
  });
});
