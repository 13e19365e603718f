import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambdas/domain/metrics.js';
import { type AlarmRunbook, runbookLink } from '../../lambdas/domain/runbooks.js';
import { serviceMetric } from './metrics.js';

export interface AlarmSources {
  readonly pollers: readonly IFunction[];
  /** Every function by its construct id (Poller, Notifier, Prober, Reporter...), for errors and throttles. */
  readonly functions: Readonly<Record<string, IFunction>>;
  readonly notifier: IFunction;
  readonly notifierFailures: Queue;
  readonly invocationFailures: Queue;
  /** Where alarms notify, when they fire and when they clear: a topic whose subscriptions do not filter on attributes. */
  readonly topic: ITopic;
  /** Base URL of the runbooks (`notify.runbookBaseUrl`). */
  readonly runbookBaseUrl?: string | undefined;
}

/** The pipeline's alarms, by what they watch. */
export interface PipelineAlarms {
  /** A poller invocation failed. */
  readonly pollerErrors: Alarm;
  /** No poll from any poller for 3 minutes: the watcher itself is down. */
  readonly noPollHeartbeat: Alarm;
  /** No poll from one shard's poller for 3 minutes (its clusters are unwatched), by poller id. */
  readonly shardHeartbeats: Readonly<Record<string, Alarm>>;
  /** Stream records the notifier gave up on. */
  readonly notifierDeadLetters: Alarm;
  /** The notifier is more than a minute behind the stream: alerts are late. */
  readonly notifierIteratorAge: Alarm;
  /** A poller run or a write probe could not be started. */
  readonly failedInvocations: Alarm;
  /** Writes through a VIP still failed at the probe deadline. */
  readonly writeUnavailable: Alarm;
  /** Errors of the notifier, prober and reporter (the pollers' are `pollerErrors`), by function id. */
  readonly functionErrors: Readonly<Record<string, Alarm>>;
  /** Throttled invocations, by function id. */
  readonly throttles: Readonly<Record<string, Alarm>>;
}

/** Every alarm of the set, in one list. */
export function allAlarms(alarms: PipelineAlarms): Alarm[] {
  return Object.values(alarms).flatMap((entry: Alarm | Readonly<Record<string, Alarm>>) =>
    entry instanceof Alarm ? [entry] : Object.values(entry),
  );
}

interface AlarmSpec {
  readonly metric: IMetric;
  readonly description: string;
  readonly runbook: AlarmRunbook;
  /** `atLeast`: fires at `threshold` or more (missing data is fine); `none`: fires when the count is 0 or missing. */
  readonly when?: 'atLeast' | 'none';
  readonly threshold?: number;
}

/**
 * Alarms on the pipeline itself, each notifying the people on alarm and on recovery, with its runbook in the
 * description: a poller failing or silent (all of them, or one shard), alerts given up on or late, probes that
 * could not start or restore writes, any function failing or throttled.
 */
export function pipelineAlarms(scope: Construct, sources: AlarmSources): PipelineAlarms {
  const action = new SnsAction(sources.topic);
  const alarm = (id: string, spec: AlarmSpec) => {
    const none = spec.when === 'none';
    const created = new Alarm(scope, id, {
      metric: spec.metric,
      threshold: spec.threshold ?? 1,
      evaluationPeriods: 1,
      comparisonOperator: none ? ComparisonOperator.LESS_THAN_THRESHOLD : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data from a heartbeat means no heartbeat; no data from an error count means no error.
      treatMissingData: none ? TreatMissingData.BREACHING : TreatMissingData.NOT_BREACHING,
      alarmDescription: `${spec.description}. Runbook: ${runbookLink({ alarm: spec.runbook }, sources.runbookBaseUrl)}`,
    });
    created.addAlarmAction(action);
    created.addOkAction(action);
    return created;
  };
  const minute = { period: Duration.minutes(1) };
  const byFunction = (make: (id: string, fn: IFunction) => Alarm, functions: Readonly<Record<string, IFunction>>) =>
    Object.fromEntries(Object.entries(functions).map(([id, fn]) => [id, make(id, fn)]));
  const others = Object.fromEntries(Object.entries(sources.functions).filter(([, fn]) => !sources.pollers.includes(fn)));
  return {
    pollerErrors: alarm('PollerErrors', {
      metric: sumOf(
        'poller errors',
        sources.pollers.map((fn) => fn.metricErrors(minute)),
      ),
      description: 'A poller invocation failed: clusters may be unwatched',
      runbook: 'poller-errors',
    }),
    noPollHeartbeat: alarm('NoPollHeartbeat', {
      metric: serviceMetric('failover-poller', 'polls', 'Sum', Duration.minutes(3)),
      description: 'No poll for 3 minutes: the watcher itself is down',
      runbook: 'no-poll-heartbeat',
      when: 'none',
    }),
    shardHeartbeats: Object.fromEntries(
      sources.pollers.map((fn) => [
        fn.node.id,
        alarm(`${fn.node.id}Heartbeat`, {
          metric: shardPolls(fn),
          description: `No poll from ${fn.node.id} for 3 minutes: the clusters of its shard are unwatched`,
          runbook: 'shard-heartbeat',
          when: 'none',
        }),
      ]),
    ),
    notifierDeadLetters: alarm('NotifierDeadLetters', {
      metric: sources.notifierFailures.metricApproximateNumberOfMessagesVisible(minute),
      description: 'Stream records the notifier gave up on: alerts were not sent',
      runbook: 'notifier-dead-letters',
    }),
    notifierIteratorAge: alarm('NotifierIteratorAge', {
      metric: new Metric({
        namespace: 'AWS/Lambda',
        metricName: 'IteratorAge',
        dimensionsMap: { FunctionName: sources.notifier.functionName },
        statistic: 'Maximum',
        ...minute,
      }),
      description: 'The notifier is more than 60 s behind the event stream: alerts are late',
      runbook: 'notifier-iterator-age',
      threshold: 60_000,
    }),
    failedInvocations: alarm('FailedInvocations', {
      metric: sources.invocationFailures.metricApproximateNumberOfMessagesVisible(minute),
      description: 'A poller run or a write probe could not be started',
      runbook: 'failed-invocations',
    }),
    writeUnavailable: alarm('WriteUnavailable', {
      metric: serviceMetric('failover-prober', 'write_unavailable'),
      description: 'Writes through a VIP still failed at the probe deadline',
      runbook: 'write-unavailable',
    }),
    functionErrors: byFunction(
      (id, fn) =>
        alarm(`${id}Errors`, { metric: fn.metricErrors(minute), description: `${id} invocations failed`, runbook: 'function-errors' }),
      others,
    ),
    throttles: byFunction(
      (id, fn) =>
        alarm(`${id}Throttles`, {
          metric: fn.metricThrottles(minute),
          description: `${id} invocations were throttled: work is delayed or dropped`,
          runbook: 'throttles',
        }),
      sources.functions,
    ),
  };
}

/** The sum of several metrics, as one alarm can watch only one. */
function sumOf(label: string, metrics: readonly IMetric[]): IMetric {
  return new MathExpression({
    expression: metrics.map((_, i) => `m${i}`).join(' + '),
    usingMetrics: Object.fromEntries(metrics.map((metric, i) => [`m${i}`, metric])),
    label,
    period: Duration.minutes(1),
  });
}

/** `shard_polls`, which each poller publishes with its own function name as the `shard` dimension. */
function shardPolls(poller: IFunction): IMetric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: 'shard_polls',
    dimensionsMap: { service: 'failover-poller', shard: poller.functionName },
    statistic: 'Sum',
    period: Duration.minutes(3),
  });
}
