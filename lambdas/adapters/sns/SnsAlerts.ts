import { CreateTopicCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { type Alert, chatbotMessage, snsAttributes } from '../../domain/alerts.js';
import { DeliveryError, messageOf } from '../../domain/errors.js';
import type { PageMark } from '../../domain/pageLifecycle.js';
import type { SnsChannel, SummaryPublisher } from '../../domain/ports.js';
import { alertJson, snsStructuredMessage } from '../../domain/snsMessages.js';
import { type StormPage, stormEmail, stormHeadline, stormJson, stormSms } from '../../domain/stormPages.js';
import { AWS_CALL_TIMEOUTS } from '../awsClients.js';

export type SnsFormat = 'json' | 'chatbot';

/**
 * Publishes alerts to the topic: a short subject, a message per kind of subscriber (SMS, email, and the JSON alert
 * or Chatbot's format for the rest), and the attributes subscribers filter on.
 */
export class SnsAlerts implements SnsChannel {
  private readonly client: SNSClient;

  constructor(
    private readonly topicArn: string,
    private readonly format: SnsFormat = 'json',
    client?: SNSClient,
  ) {
    this.client = client ?? new SNSClient({ ...AWS_CALL_TIMEOUTS });
  }

  async publish(alert: Alert, incidentKey: string, page?: PageMark): Promise<string> {
    try {
      const result = await this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: alert.subject,
          // Each protocol gets its own text: SMS one short part, email a readable page, machines the JSON.
          MessageStructure: 'json',
          Message: snsStructuredMessage(
            alert,
            incidentKey,
            this.format === 'chatbot' ? () => chatbotMessage(alert, incidentKey) : alertJson(alert),
            page,
          ),
          MessageAttributes: snsAttributes(alert, page),
        }),
      );
      return result.MessageId ?? '';
    } catch (error) {
      throw new DeliveryError('sns', `publishing alert ${alert.eventId} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  async publishStorm(page: StormPage): Promise<string> {
    try {
      return (await this.client.send(stormMessage(this.topicArn, page))).MessageId ?? '';
    } catch (error) {
      throw new DeliveryError('sns', `publishing the fleet page of ${page.storm.key} failed: ${messageOf(error)}`, { cause: error });
    }
  }
}

/**
 * A storm's fleet page: SMS, email and the storm's JSON, with attributes that reach people's subscriptions (they
 * filter on `page` and `pageSeverity`, as for an incident's opening and resolution).
 */
function stormMessage(topicArn: string, page: StormPage) {
  return new PublishCommand({
    TopicArn: topicArn,
    Subject: stormHeadline(page).slice(0, 100),
    MessageStructure: 'json',
    Message: JSON.stringify({ default: stormJson(page), sms: stormSms(page), email: stormEmail(page) }),
    MessageAttributes: {
      cluster: { DataType: 'String', StringValue: 'fleet' },
      type: { DataType: 'String', StringValue: 'fleet_storm' },
      severity: { DataType: 'String', StringValue: 'critical' },
      page: { DataType: 'String', StringValue: page.action },
      pageSeverity: { DataType: 'String', StringValue: 'critical' },
    },
  });
}

/** Creates the topic if it is missing (local mode: the emulator has none) and returns its ARN. */
export async function ensureTopic(client: SNSClient, name: string): Promise<string> {
  const { TopicArn } = await client.send(new CreateTopicCommand({ Name: name }));
  if (!TopicArn) throw new DeliveryError('sns', `creating topic ${name} returned no ARN`);
  return TopicArn;
}

/** The monthly summary on the alert topic, with `type = monthly_report` for subscription filters. */
export function snsSummaryPublisher(client: SNSClient, topicArn: string): SummaryPublisher {
  return async (subject, message) => {
    await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: subject,
        Message: message,
        MessageAttributes: {
          type: { DataType: 'String', StringValue: 'monthly_report' },
          severity: { DataType: 'String', StringValue: 'info' },
        },
      }),
    );
  };
}
