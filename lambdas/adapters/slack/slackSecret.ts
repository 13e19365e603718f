import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { z } from 'zod';
import { ConfigError } from '../../domain/errors.js';
import type { SlackTarget } from './SlackAlerts.js';

const slackSecretSchema = z.union([
  z.object({ webhookUrl: z.string().url() }),
  z.object({ botToken: z.string().min(1), channel: z.string().min(1), apiUrl: z.string().url().optional() }),
]);

/** The Slack target from Secrets Manager: `{webhookUrl}` or `{botToken, channel}`; cached for five minutes. */
export async function slackTargetFromSecret(secretId: string): Promise<SlackTarget> {
  const value = await getSecret(secretId, { transform: 'json', maxAge: 300 });
  const parsed = slackSecretSchema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(`secret ${secretId} must hold {"webhookUrl": "..."} or {"botToken": "...", "channel": "..."}`);
  }
  const secret = parsed.data;
  return 'webhookUrl' in secret
    ? { kind: 'webhook', url: secret.webhookUrl }
    : { kind: 'bot', token: secret.botToken, channel: secret.channel, ...(secret.apiUrl ? { apiUrl: secret.apiUrl } : {}) };
}
