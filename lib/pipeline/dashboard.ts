import { Duration } from 'aws-cdk-lib';
import { Dashboard, GraphWidget } from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { serviceMetric } from './metrics.js';

/** The fleet at a glance: polling, leader changes, measured write outages, alerts by severity. */
export function fleetDashboard(scope: Construct): Dashboard {
  const dashboard = new Dashboard(scope, 'Fleet', { defaultInterval: Duration.hours(24) });
  dashboard.addWidgets(
    new GraphWidget({
      title: 'Polls and failed polls',
      left: [serviceMetric('failover-poller', 'polls'), serviceMetric('failover-poller', 'failed_polls')],
    }),
    new GraphWidget({ title: 'Poll loop duration (ms)', left: [serviceMetric('failover-poller', 'loop_duration', 'Maximum')] }),
    new GraphWidget({
      title: 'Leader changes and missing leaders',
      left: ['event_leader_changed', 'event_no_leader', 'event_member_unreachable'].map((name) => serviceMetric('failover-poller', name)),
    }),
    new GraphWidget({
      title: 'Measured write outage (ms, upper bound)',
      left: [serviceMetric('failover-prober', 'write_outage_max', 'Maximum')],
      right: [serviceMetric('failover-prober', 'write_unavailable')],
    }),
    new GraphWidget({
      title: 'Alerts by severity',
      left: ['critical', 'warning', 'info'].map((s) => serviceMetric('failover-notifier', `alert_${s}`)),
    }),
  );
  return dashboard;
}
