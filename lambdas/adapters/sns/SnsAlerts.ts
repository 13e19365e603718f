import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { chatbotMessage, snsAttributes, snsMessage, type Alert } from '../../core/alerts.js';
import { AWS_CALL_TIMEOUTS } from '../awsClients.js';
import { DeliveryError } from '../errors.js';

export type SnsFormat = 'json' | 'chatbot';

/** Publishes alerts to the topic: a short subject, the JSON alert, and attributes subscribers filter on. */
export class SnsAlerts {
  private readonly client: SNSClient;

  constructor(
    private readonly topicArn: string,
    private readonly format: SnsFormat = 'json',
    client?: SNSClient,
  ) {
    this.client = client ?? new SNSClient({ ...AWS_CALL_TIMEOUTS });
  }

  async publish(alert: Alert, incidentKey: string): Promise<string> {
    try {
      const result = await this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: alert.subject,
          Message: this.format === 'chatbot' ? chatbotMessage(alert, incidentKey) : snsMessage(alert),
          MessageAttributes: snsAttributes(alert),
        }),
      );
      return result.MessageId ?? '';
    } catch (error) {
      throw new DeliveryError('sns', `publishing alert ${alert.eventId} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
