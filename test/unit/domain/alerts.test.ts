import { describe, expect, it } from 'vitest';
import { buildAlert, chatbotMessage, severityOf, slackBlocks, snsAttributes, snsMessage } from '../../../lambdas/domain/alerts.js';
import { detect } from '../../../lambdas/domain/detector.js';
import type { ClusterEvent } from '../../../lambdas/domain/events.js';
import { isWriteLossEvidence } from '../../../lambdas/domain/writeLoss.js';
import { failed, healthy, observation, ok, primary, replica, unreachableWithError, view } from '../../support/factories.js';

function eventsOf(...observations: Parameters<typeof detect>[1][]): ClusterEvent[] {
  let state = null;
  const events: ClusterEvent[] = [];
  for (const obs of observations) {
    const result = detect(state, obs);
    state = result.state;
    events.push(...result.events);
  }
  return events;
}

const failoverEvents = eventsOf(
  healthy(1_000, 'pg_node1', 3),
  observation(2_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4)),
);
const switchoverEvents = eventsOf(
  healthy(1_000, 'pg_node1', 3),
  observation(
    2_000,
    [primary('pg_node1', 3, { state: 'stopping', timeline: null }), replica('pg_node2', 3), replica('pg_node3', 3)],
    view('pg_node1', 3),
  ),
  observation(
    3_000,
    [ok('pg_node1', { role: 'demoted', state: 'stopped', timeline: null }), primary('pg_node2', 4), replica('pg_node3', 3)],
    view('pg_node2', 4),
  ),
);
const find = (events: ClusterEvent[], type: string) => events.find((e) => e.type === type)!;

describe('Function: severityOf', () => {
  it('pages for an unplanned leader change, informs for a planned one, stays quiet for audit-only events', () => {
    expect(severityOf(find(failoverEvents, 'leader_changed'))).toBe('warning');
    expect(severityOf(find(switchoverEvents, 'leader_changed'))).toBe('info');
    expect(severityOf(find(failoverEvents, 'timeline_changed'))).toBeNull();
    expect(severityOf(find(failoverEvents, 'member_role_changed'))).toBeNull();
    expect(severityOf({ ...find(failoverEvents, 'leader_changed'), type: 'no_leader', lastLeader: 'a', since: 1 } as ClusterEvent)).toBe(
      'critical',
    );
  });

  it("pages at once when the leader's PostgreSQL crashes (Patroni does nothing about it in maintenance mode), not for a planned stop", () => {
    const crash = eventsOf(
      healthy(1_000, 'pg_node1', 3, true),
      observation(
        2_000,
        [
          primary('pg_node1', 3, { state: 'unknown', timeline: null, paused: true }),
          replica('pg_node2', 3, { paused: true }),
          replica('pg_node3', 3, { paused: true }),
        ],
        view('pg_node1', 3, undefined, true),
      ),
    );
    const down = find(crash, 'member_state_changed');
    expect(down).toMatchObject({ member: 'pg_node1', from: 'running', to: 'unknown', wasLeader: true });
    expect(severityOf(down)).toBe('critical');
    expect(isWriteLossEvidence(down)).toBe(true);
    expect(severityOf(find(switchoverEvents, 'member_state_changed'))).toBeNull();
    expect(severityOf({ ...down, wasLeader: false } as ClusterEvent)).toBeNull();
  });

  it("pages for the leader's PostgreSQL stopped while it is still primary (paused: nobody restarts it), not for a handover's stop", () => {
    const stopped = { ...find(switchoverEvents, 'member_state_changed'), from: 'running', to: 'stopped', wasLeader: true } as ClusterEvent;
    expect(severityOf({ ...stopped, role: 'primary' } as ClusterEvent)).toBe('critical');
    expect(severityOf({ ...stopped, role: 'demoted' } as ClusterEvent)).toBeNull();
    expect(severityOf({ ...stopped, from: 'stopping', role: 'primary' } as ClusterEvent)).toBeNull();
  });

  it('takes the leader demoting itself (etcd down, no new leader yet) as evidence of lost writes', () => {
    const demoted = eventsOf(
      healthy(1_000, 'pg_node1', 3),
      observation(
        2_000,
        [
          replica('pg_node1', 3, { clusterUnlocked: true }),
          replica('pg_node2', 3, { clusterUnlocked: true }),
          replica('pg_node3', 3, { clusterUnlocked: true }),
        ],
        null,
      ),
    );
    const role = find(demoted, 'member_role_changed');
    expect(role).toMatchObject({ member: 'pg_node1', from: 'primary', to: 'replica', wasLeader: true });
    expect(isWriteLossEvidence(role)).toBe(true);
    expect(isWriteLossEvidence(find(failoverEvents, 'member_role_changed'))).toBe(false);
  });

  it('takes the old leader going away as evidence of lost writes, a replica going away not', () => {
    const unreachable = find(failoverEvents, 'member_unreachable');
    expect(isWriteLossEvidence(unreachable)).toBe(true);
    expect(isWriteLossEvidence({ ...unreachable, wasLeader: false } as ClusterEvent)).toBe(false);
  });
});

describe('Function: buildAlert', () => {
  const alert = buildAlert(find(failoverEvents, 'leader_changed'))!;

  it('gives SNS an ASCII subject of at most 100 characters and filterable attributes', () => {
    expect(alert.subject).toMatch(/^\[WARNING\] denemek: leader pg_node1 -> pg_node2/);
    expect(alert.subject.length).toBeLessThanOrEqual(100);
    expect(alert.subject).toMatch(/^[\x20-\x7e]+$/);
    expect(snsAttributes(alert)).toEqual({
      cluster: { DataType: 'String', StringValue: 'denemek' },
      type: { DataType: 'String', StringValue: 'leader_changed' },
      severity: { DataType: 'String', StringValue: 'warning' },
      page: { DataType: 'String', StringValue: 'none' },
      pageSeverity: { DataType: 'String', StringValue: 'warning' },
    });
    expect(snsAttributes(alert, { action: 'resolve', severity: 'critical' })).toMatchObject({
      page: { StringValue: 'resolve' },
      pageSeverity: { StringValue: 'critical' },
    });
  });

  it('puts the whole event in the SNS body', () => {
    expect(JSON.parse(snsMessage(alert)).event).toEqual(alert.event);
  });

  it('drops the event from an SNS body over the size limit and says where to find it', () => {
    const body = JSON.parse(snsMessage(alert, 500));
    expect(body.event).toBeUndefined();
    expect(body.eventId).toBe(alert.eventId);
    expect(body.truncated).toMatch(/read it from the audit trail by eventId/);
  });

  it("cuts a Slack section to Slack's 3000 characters", () => {
    const long = { ...alert, text: 'x'.repeat(5_000) };
    const blocks = slackBlocks(long).blocks as { text?: { text: string } }[];
    expect(blocks[1]!.text!.text.length).toBe(3_000);
  });

  it('writes the AWS Chatbot custom notification format with the incident as thread', () => {
    const message = JSON.parse(chatbotMessage(alert, 'incident-1'));
    expect(message).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown' },
      metadata: { threadId: 'incident-1' },
    });
  });
});

describe('Untrusted text in alerts (issue 17, item 1)', () => {
  const hostile = unreachableWithError('answered "<!channel> <http://evil.example/|open runbook> & more\n\u001b[31m"', true);

  it('escapes Slack markup and control characters in every mrkdwn text', () => {
    const { text, blocks } = slackBlocks(buildAlert(hostile)!);
    const all = JSON.stringify([text, blocks]);
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<http://evil.example');
    expect(all).toContain('&lt;!channel&gt; &lt;http://evil.example/|open runbook&gt; &amp; more');
    expect(all).not.toMatch(/\\u001b|\\n/);
  });

  it('gives SNS a one-line printable ASCII subject', () => {
    expect(buildAlert(hostile)!.subject).toMatch(/^[\x20-\x7e]+$/);
  });
});
