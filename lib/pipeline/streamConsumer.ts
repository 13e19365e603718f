import { Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { FilterCriteria, FilterRule, type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { TABLE_SCHEMA } from '../../lambdas/adapters/dynamodb/tableSchema.js';

export interface StreamConsumerOptions {
  readonly batchSize: number;
  readonly retryAttempts: number;
  readonly maxRecordAge: Duration;
  /** Where records go that the notifier gave up on. */
  readonly onFailure: IQueue;
}

/**
 * The notifier on the table's stream: new event items only (the filter), in order per shard, partial batch
 * failures reported, a failing batch bisected, and what cannot be delivered kept in the on-failure queue.
 */
export function consumeEventStream(notifier: IFunction, table: ITableV2, options: StreamConsumerOptions): void {
  notifier.addEventSource(
    new DynamoEventSource(table, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: options.batchSize,
      maxBatchingWindow: Duration.seconds(0),
      bisectBatchOnError: true,
      retryAttempts: options.retryAttempts,
      maxRecordAge: options.maxRecordAge,
      // One batch per shard at a time: with more, Lambda keeps order only per item (partition and sort key), and
      // every event is its own item. The notifier handles a batch's clusters side by side instead, each in order.
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(options.onFailure),
      filters: [
        FilterCriteria.filter({
          eventName: FilterRule.isEqual('INSERT'),
          dynamodb: { NewImage: { [TABLE_SCHEMA.itemTypeAttribute]: { S: FilterRule.isEqual('event') } } },
        }),
      ],
    }),
  );
}
