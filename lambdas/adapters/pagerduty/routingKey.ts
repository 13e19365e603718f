import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { PagerDutyConfig } from '../../config/config.js';
import { ConfigError } from '../../domain/errors.js';
import type { PagerDutyTarget } from './PagerDutyEvents.js';

/** A PagerDuty integration key: 32 characters of letters and digits. */
const ROUTING_KEY = /^[A-Za-z0-9]{20,64}$/;

/** The routing key as configured: from the environment (local runs) or from Secrets Manager (cached five minutes). */
export async function pagerDutyTarget(config: PagerDutyConfig, env: NodeJS.ProcessEnv = process.env): Promise<PagerDutyTarget> {
  const eventsUrl = config.eventsUrl ? { eventsUrl: config.eventsUrl } : {};
  if ('routingKeyEnv' in config) {
    const keySource = `environment variable ${config.routingKeyEnv}`;
    return { routingKey: checked(env[config.routingKeyEnv], keySource), keySource, ...eventsUrl };
  }
  const keySource = `secret ${config.routingKeySecret}`;
  const value = await getSecret(config.routingKeySecret, { maxAge: 300 });
  const text = typeof value === 'string' ? value : value === undefined ? undefined : new TextDecoder().decode(value);
  return { routingKey: checked(keyOf(text), keySource), keySource, ...eventsUrl };
}

/** `{"routingKey": "..."}` or the bare key. */
function keyOf(text: string | undefined): string | undefined {
  if (!text?.trim().startsWith('{')) return text?.trim();
  try {
    const parsed = JSON.parse(text) as { routingKey?: unknown };
    return typeof parsed.routingKey === 'string' ? parsed.routingKey : undefined;
  } catch {
    return undefined;
  }
}

/** A missing or malformed key is named by where it should be, never shown. */
function checked(key: string | undefined, keySource: string): string {
  if (!key) throw new ConfigError(`notify.pagerduty: ${keySource} is not set (give the service's Events API v2 integration key)`);
  if (!ROUTING_KEY.test(key)) {
    throw new ConfigError(`notify.pagerduty: ${keySource} does not hold an Events API v2 integration key (letters and digits, 32 of them)`);
  }
  return key;
}
