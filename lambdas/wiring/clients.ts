import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { AWS_CALL_TIMEOUTS, type AwsSettings } from '../adapters/awsClients.js';
import { DynamoEventStore } from '../adapters/dynamodb/DynamoEventStore.js';

/** The part of every SDK client's middleware stack an observer needs; the clients' own types differ per service. */
interface ObservableStack {
  add(
    middleware: (
      next: (args: unknown) => Promise<unknown>,
      context: { clientName?: string; commandName?: string },
    ) => (args: unknown) => Promise<unknown>,
    options: { step: 'initialize'; name: string },
  ): void;
}

/**
 * The SDK clients of one process, each made on first use from the same settings (call limits, and the local
 * emulator's endpoint off AWS). The SDK packages are free of side effects, so a Lambda bundle keeps only the
 * clients its function uses.
 */
export class AwsClients {
  private dynamoClient?: DynamoDBClient;
  private snsClient?: SNSClient;
  private lambdaClient?: LambdaClient;
  private s3Client?: S3Client;
  private streamsClient?: DynamoDBStreamsClient;

  /** `observe`: told of every call each client sends (the benchmark counts them); nothing else is. */
  constructor(
    readonly settings: AwsSettings,
    private readonly observe?: (client: string, command: string) => void,
  ) {}

  /** On AWS the SDK finds region and credentials in the function's environment: only the call limits are ours. */
  static forLambda(): AwsClients {
    return new AwsClients(AWS_CALL_TIMEOUTS);
  }

  get dynamo(): DynamoDBClient {
    this.dynamoClient ??= this.observed(new DynamoDBClient(this.settings));
    return this.dynamoClient;
  }

  get sns(): SNSClient {
    this.snsClient ??= this.observed(new SNSClient(this.settings));
    return this.snsClient;
  }

  get lambda(): LambdaClient {
    this.lambdaClient ??= this.observed(new LambdaClient(this.settings));
    return this.lambdaClient;
  }

  get s3(): S3Client {
    this.s3Client ??= this.observed(new S3Client(this.settings));
    return this.s3Client;
  }

  get streams(): DynamoDBStreamsClient {
    this.streamsClient ??= this.observed(new DynamoDBStreamsClient(this.settings));
    return this.streamsClient;
  }

  private observed<T extends object>(client: T): T {
    const observe = this.observe;
    if (!observe) return client;
    (client as unknown as { middlewareStack: ObservableStack }).middlewareStack.add(
      (next, context) => async (args) => {
        observe(context.clientName ?? 'unknown', context.commandName ?? 'unknown');
        return next(args);
      },
      { step: 'initialize', name: 'observeCalls' },
    );
    return client;
  }

  /** The audit trail; every function of the pipeline reads or writes it. */
  eventStore(tableName: string, retentionDays?: number, onMissingTable?: () => Promise<void>): DynamoEventStore {
    return new DynamoEventStore({ tableName, retentionDays, client: this.dynamo, onMissingTable });
  }
}
