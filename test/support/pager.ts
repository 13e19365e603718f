import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Alert } from '../../lambdas/domain/alerts.js';
import type { awsClientConfig } from '../../local/emulator.js';

type ClientConfig = ReturnType<typeof awsClientConfig>;

/** The on-call pager in the emulator: an SQS queue subscribed (raw delivery) to the alert topic `failover-alerts`. */
export class PagerQueue {
  /** Every message received so far, in order of receipt. */
  readonly messages: Message[] = [];

  private constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /**
   * Creates the topic and the queue if missing and subscribes the queue; safe to call again after the topic was
   * deleted. `filterPolicy` subscribes it the way a person's email or SMS is (the template's policy).
   */
  static async subscribe(
    clientConfig: ClientConfig,
    queue: { name: string; filterPolicy?: unknown } = { name: 'pager' },
  ): Promise<PagerQueue> {
    const sns = new SNSClient(clientConfig);
    const sqs = new SQSClient(clientConfig);
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: queue.name }))).QueueUrl!;
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    // The topic last, right before its subscription: a publish in between (a notifier retrying while an SNS outage
    // is repaired) reaches a topic with no subscriber, and that alert never reaches the pager.
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'failover-alerts' }))).TopicArn!;
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: attributes.Attributes!.QueueArn!,
        Attributes: { RawMessageDelivery: 'true', ...(queue.filterPolicy ? { FilterPolicy: JSON.stringify(queue.filterPolicy) } : {}) },
      }),
    );
    return new PagerQueue(sqs, queueUrl);
  }

  /** Receives what is waiting (bounded to 50 pages), deletes it from the queue, and returns every message so far. */
  async drain(): Promise<Message[]> {
    // An empty receive is not proof of an empty queue (SQS samples its hosts): stop after two in a row.
    for (let page = 0, empty = 0; page < 50 && empty < 2; page++) {
      const received = await this.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 0 }),
      );
      if (!received.Messages?.length) {
        empty++;
        continue;
      }
      empty = 0;
      this.messages.push(...received.Messages);
      // Deleted once kept here: a message left in the queue would come back after its visibility timeout.
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: received.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
    return this.messages;
  }

  /** Every alert paged so far. */
  async alerts(): Promise<Alert[]> {
    return (await this.drain()).map((m) => JSON.parse(m.Body!) as Alert);
  }
}
