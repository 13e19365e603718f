import { describe, expect, it } from 'vitest';
import { buildAlert, severityOf } from '../../../lambdas/domain/alerts.js';
import type { AnyPayload } from '../../../lambdas/domain/events.js';
import { advanceIncident, type PageIncident, riskKeyOf } from '../../../lambdas/domain/pageLifecycle.js';
import { pagerDutyRequest } from '../../../lambdas/domain/pagerduty.js';
import { slackIncidentMessage } from '../../../lambdas/domain/slackIncident.js';
import { isWriteLossEvidence } from '../../../lambdas/domain/writeLoss.js';
import { makeTestEvent } from '../../support/factories.js';

const lost = (level: 'warning' | 'critical') =>
  makeTestEvent({ type: 'failover_readiness_lost', leader: 'pg_node1', level, candidates: [], excluded: [], since: 5_000 }, 6_000);
const restored = makeTestEvent(
  { type: 'failover_readiness_restored', leader: 'pg_node1', candidates: ['pg_node2'], since: 5_000, afterMs: 9_000 },
  14_000,
);

/** An open write-loss incident the risk must leave alone. */
const openIncident = (): PageIncident => {
  const opened = advanceIncident(null, makeTestEvent({ type: 'no_leader', lastLeader: 'pg_node1', since: 0 }, 1_000), {
    awaitingVerdict: true,
    incidentKey: 'denemek:0000000001:000',
  });
  return opened.incident!;
};

describe('Risks before the failover on the pager', () => {
  it('gives the event that raises a risk and the one that ends it the same key', () => {
    expect(riskKeyOf(lost('warning'))).toBe('denemek:readiness:5000');
    expect(riskKeyOf(restored)).toBe('denemek:readiness:5000');
    const after = makeTestEvent(
      { type: 'redundancy_restored', leader: 'pg_node2', timeline: 4, replicas: ['pg_node3'], afterMs: 1_000 },
      1_000,
    );
    expect(riskKeyOf(after)).toBeNull();
  });

  it('opens a standalone page, escalates it once critical, resolves it on its end, and never touches the open incident', () => {
    const incident = openIncident();
    const options = { awaitingVerdict: true, incidentKey: 'x' };
    const steps = [lost('warning'), lost('critical'), restored].map((event) => advanceIncident(incident, event, options));
    expect(steps.map((s) => [s.action, s.standalone, s.incident])).toEqual([
      ['open', true, incident],
      ['escalate', true, incident],
      ['resolve', true, incident],
    ]);
  });

  it('pages PagerDuty under the risk key and resolves that key', () => {
    const trigger = pagerDutyRequest({ action: 'open', incident: null }, buildAlert(lost('warning'))!);
    const resolve = pagerDutyRequest({ action: 'resolve', incident: null }, buildAlert(restored)!);
    expect(trigger?.body).toMatchObject({ event_action: 'trigger', dedup_key: 'denemek:readiness:5000', payload: { severity: 'warning' } });
    expect(resolve?.body).toEqual({ event_action: 'resolve', dedup_key: 'denemek:readiness:5000' });
  });

  it.each([
    [{ type: 'promotion_stuck', member: 'pg_node2', role: 'replica', state: 'running', since: 0, loopWaitSeconds: 10 }, 'critical', true],
    [{ type: 'sync_commit_stalled', leader: 'pg_node1', excluded: [], since: 0 }, 'critical', true],
    [{ type: 'dcs_unreachable', members: [], unrenewedForMs: 1, failsafeMode: false, since: 0 }, 'critical', false],
    [{ type: 'dcs_unreachable', members: [], unrenewedForMs: 1, failsafeMode: true, since: 0 }, 'warning', false],
    [{ type: 'leader_lock_at_risk', leader: 'a', unrenewedForMs: 1, thresholdMs: 1, failsafeMode: false, since: 0 }, 'warning', false],
    [{ type: 'redundancy_lost', leader: 'a', timeline: 1, healthy: [], minimum: 1, excluded: [], since: 0 }, 'warning', false],
    [{ type: 'replica_lagging', member: 'a', lagBytes: 2, thresholdBytes: 1, replayPaused: false, since: 0 }, 'info', false],
    [{ type: 'scheduled_action', action: 'switchover', at: 'x', member: null, from: null, to: null }, 'info', false],
    [{ type: 'config_changed', changes: [] }, null, false],
    [{ type: 'member_tags_changed', member: 'a', from: {}, to: {} }, null, false],
    [{ type: 'pending_restart_changed', member: 'a', pending: true, reasons: null }, null, false],
    [{ type: 'version_changed', member: 'a', component: 'patroni', from: '3.0.2', to: '4.1.5' }, null, false],
  ] as [AnyPayload, string | null, boolean][])('%j pages at %s (starts the write probe: %s)', (payload, severity, probes) => {
    const event = makeTestEvent(payload, 1_000);
    expect(severityOf(event)).toBe(severity);
    expect(isWriteLossEvidence(event)).toBe(probes);
  });

  it('announces a scheduled switchover as a planned change, not a page', () => {
    const event = makeTestEvent({ type: 'scheduled_action', action: 'switchover', at: 'x', member: null, from: 'a', to: 'b' }, 1_000);
    expect(advanceIncident(null, event, { awaitingVerdict: false, incidentKey: 'k' })).toMatchObject({
      action: 'change',
      standalone: true,
    });
  });
});

describe('A risk on Slack', () => {
  it('edits its own parent to RESOLVED when it ends, under the risk key', () => {
    const message = slackIncidentMessage(null, buildAlert(restored)!, { action: 'resolve', severity: 'info' });
    expect(message.text).toMatch(/^RESOLVED denemek: failover possible again/);
    expect(JSON.stringify(message.blocks)).toContain('incident denemek:readiness:5000');
  });
});
