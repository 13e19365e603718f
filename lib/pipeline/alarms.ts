import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, MathExpression, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { serviceMetric } from './metrics.js';

export interface AlarmSources {
  readonly pollers: readonly IFunction[];
  readonly notifierFailures: Queue;
  readonly invocationFailures: Queue;
  /** Where alarms notify. */
  readonly topic: ITopic;
}

/** The pipeline's alarms, by what they watch. */
export interface PipelineAlarms {
  /** A poller invocation failed. */
  readonly pollerErrors: Alarm;
  /** No poll for 3 minutes: the watcher itself is down. */
  readonly noPollHeartbeat: Alarm;
  /** Stream records the notifier gave up on. */
  readonly notifierDeadLetters: Alarm;
  /** A poller run or a write probe could not be started. */
  readonly failedInvocations: Alarm;
  /** Writes through a VIP still failed at the probe deadline. */
  readonly writeUnavailable: Alarm;
}

/** Alarms on the pipeline itself: a poller failing or silent, alerts given up on, probes that could not start or restore writes. */
export function pipelineAlarms(scope: Construct, sources: AlarmSources): PipelineAlarms {
  const action = new SnsAction(sources.topic);
  const alarm = (id: string, metric: IMetric, description: string, when: 'atLeastOne' | 'none' = 'atLeastOne') => {
    const created = new Alarm(scope, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator:
        when === 'atLeastOne' ? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD : ComparisonOperator.LESS_THAN_THRESHOLD,
      // No data from a heartbeat means no heartbeat; no data from an error count means no error.
      treatMissingData: when === 'none' ? TreatMissingData.BREACHING : TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    created.addAlarmAction(action);
    return created;
  };
  const pollerErrors = new MathExpression({
    expression: sources.pollers.map((_, i) => `e${i}`).join(' + '),
    usingMetrics: Object.fromEntries(sources.pollers.map((fn, i) => [`e${i}`, fn.metricErrors({ period: Duration.minutes(1) })])),
    label: 'poller errors',
    period: Duration.minutes(1),
  });
  return {
    pollerErrors: alarm('PollerErrors', pollerErrors, 'A poller invocation failed: clusters may be unwatched'),
    noPollHeartbeat: alarm(
      'NoPollHeartbeat',
      serviceMetric('failover-poller', 'polls', 'Sum', Duration.minutes(3)),
      'No poll for 3 minutes: the watcher itself is down',
      'none',
    ),
    notifierDeadLetters: alarm(
      'NotifierDeadLetters',
      sources.notifierFailures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      'Stream records the notifier gave up on: alerts were not sent',
    ),
    failedInvocations: alarm(
      'FailedInvocations',
      sources.invocationFailures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      'A poller run or a write probe could not be started',
    ),
    writeUnavailable: alarm(
      'WriteUnavailable',
      serviceMetric('failover-prober', 'write_unavailable'),
      'Writes through a VIP still failed at the probe deadline',
    ),
  };
}
