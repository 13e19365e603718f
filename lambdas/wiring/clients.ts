import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { AWS_CALL_TIMEOUTS, type AwsSettings } from '../adapters/awsClients.js';
import { DynamoEventStore } from '../adapters/dynamodb/DynamoEventStore.js';

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

  constructor(readonly settings: AwsSettings) {}

  /** On AWS the SDK finds region and credentials in the function's environment: only the call limits are ours. */
  static forLambda(): AwsClients {
    return new AwsClients(AWS_CALL_TIMEOUTS);
  }

  get dynamo(): DynamoDBClient {
    this.dynamoClient ??= new DynamoDBClient(this.settings);
    return this.dynamoClient;
  }

  get sns(): SNSClient {
    this.snsClient ??= new SNSClient(this.settings);
    return this.snsClient;
  }

  get lambda(): LambdaClient {
    this.lambdaClient ??= new LambdaClient(this.settings);
    return this.lambdaClient;
  }

  get s3(): S3Client {
    this.s3Client ??= new S3Client(this.settings);
    return this.s3Client;
  }

  get streams(): DynamoDBStreamsClient {
    this.streamsClient ??= new DynamoDBStreamsClient(this.settings);
    return this.streamsClient;
  }

  /** The audit trail; every function of the pipeline reads or writes it. */
  eventStore(tableName: string, retentionDays?: number, onMissingTable?: () => Promise<void>): DynamoEventStore {
    return new DynamoEventStore({ tableName, retentionDays, client: this.dynamo, onMissingTable });
  }
}
