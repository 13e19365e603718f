import { LAB_CREDENTIALS } from '../../lab/templates.js';

/** Tokens the integration tests configure; with the lab's passwords, what the log scan looks for. */
export const TEST_SECRETS = {
  slackBotToken: 'xoxb-4711-test-bot-token-d3adb33f',
  scenarioSlackBotToken: 'xoxb-4712-scenario-bot-token-c0ffee',
  pagerDutyRoutingKey: 'PDTESTR0UT1NGKEYd3adb33f0123abcd',
} as const;

/** Every secret a test run configures, and the basic-auth header forms of the lab's REST API credentials. */
export function configuredSecrets(): string[] {
  const passwords = Object.values(LAB_CREDENTIALS).map((c) => c.password);
  const { username, password } = LAB_CREDENTIALS.restApi;
  return [...passwords, ...Object.values(TEST_SECRETS), Buffer.from(`${username}:${password}`).toString('base64')];
}
