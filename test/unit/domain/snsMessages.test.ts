import { describe, expect, it } from 'vitest';
import { buildAlert, SNS_MESSAGE_MAX_BYTES } from '../../../lambdas/domain/alerts.js';
import { detect } from '../../../lambdas/domain/detector.js';
import type { ClusterEvent } from '../../../lambdas/domain/events.js';
import { runbookLink } from '../../../lambdas/domain/runbooks.js';
import { alertJson, emailText, SMS_MAX_CHARS, smsText, snsStructuredMessage } from '../../../lambdas/domain/snsMessages.js';
import { failed, healthy, observation, primary, replica, unreachableWithError, view } from '../../support/factories.js';

const start = detect(null, healthy(1_000, 'pg_node1', 3));
const lost = detect(start.state, observation(2_000, [failed('pg_node1'), replica('pg_node2', 3), replica('pg_node3', 3)], view(null, 3)));
const promoted = detect(
  lost.state,
  observation(3_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4)),
);
const events: ClusterEvent[] = [...lost.events, ...promoted.events];
const alertOf = (type: string, runbookBaseUrl?: string) => buildAlert(events.find((e) => e.type === type)!, { runbookBaseUrl })!;

describe('SMS text', () => {
  it.each(['member_unreachable', 'leader_changed'])('says severity, cluster and what in one ASCII part (%s)', (type) => {
    const sms = smsText(alertOf(type));
    expect(sms.length).toBeLessThanOrEqual(SMS_MAX_CHARS);
    expect(sms).toMatch(/^[\x20-\x7e]+$/);
    expect(sms).toMatch(/^(CRITICAL|WARNING|INFO) denemek: /);
  });

  it('says RESOLVED for the resolution and CHANGE for a planned change, with the incident severity otherwise', () => {
    const alert = alertOf('leader_changed');
    expect(smsText(alert, { action: 'resolve', severity: 'critical' })).toBe('RESOLVED denemek: failover pg_node1->pg_node2');
    expect(smsText(alert, { action: 'change', severity: 'info' })).toMatch(/^CHANGE denemek: /);
    expect(smsText(alert, { action: 'update', severity: 'critical' })).toMatch(/^CRITICAL denemek: /);
  });

  it('names the failover from and to', () => {
    expect(smsText(alertOf('leader_changed'))).toBe('WARNING denemek: failover pg_node1->pg_node2');
  });

  it('stays one line and one part whatever a hostile member name or error says', () => {
    const hostile = buildAlert(unreachableWithError(`${'\u001b[31m<!channel>\n'.repeat(40)}`, true))!;
    const sms = smsText(hostile);
    expect(sms.length).toBeLessThanOrEqual(SMS_MAX_CHARS);
    expect(sms).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('Email text', () => {
  it('reads as a page: the sentence, the facts by name, the runbook and the next commands', () => {
    const alert = alertOf('leader_changed', 'https://wiki.example.com/runbooks/');
    const email = emailText(alert, 'denemek:0000000002:000');
    expect(email.split('\n')[0]).toBe('WARNING: denemek: leader changed');
    expect(email).toContain(`Event:     leader_changed (${alert.eventId})`);
    expect(email).toContain('Incident:  denemek:0000000002:000');
    expect(email).toContain('Runbook:   https://wiki.example.com/runbooks/leader_changed.md');
    expect(email).toContain('failover history --cluster denemek --since');
    expect(email).not.toContain('{"');
  });
});

describe('Structured SNS message (MessageStructure json)', () => {
  it('gives SMS, email and every other protocol (default: the alert JSON) their own text', () => {
    const alert = alertOf('leader_changed');
    const message = JSON.parse(snsStructuredMessage(alert, 'k', alertJson(alert)));
    expect(Object.keys(message).sort()).toEqual(['default', 'email', 'sms']);
    expect(JSON.parse(message.default).event).toEqual(alert.event);
    expect(message.sms).toBe(smsText(alert));
  });

  it("stays within SNS's 256 KB however large the event", () => {
    const alert = alertOf('leader_changed');
    const huge = { ...alert, event: { ...alert.event, evidence: { detail: 'x'.repeat(400_000) } } as ClusterEvent };
    const message = snsStructuredMessage(huge, 'k', alertJson(huge));
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(SNS_MESSAGE_MAX_BYTES);
    expect(JSON.parse(JSON.parse(message).default).truncated).toMatch(/read it from the audit trail/);
  });
});

describe('Runbook links', () => {
  it('points at the package path without a base URL, under the base URL with one', () => {
    expect(runbookLink({ event: 'no_leader' })).toBe('docs/runbooks/no_leader.md');
    expect(runbookLink({ alarm: 'no-poll-heartbeat' }, 'https://x.example/rb/')).toBe('https://x.example/rb/alarm-no-poll-heartbeat.md');
    expect(alertOf('member_unreachable').runbook).toBe('docs/runbooks/member_unreachable.md');
  });
});
