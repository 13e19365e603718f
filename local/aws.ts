import { AWS_CALL_TIMEOUTS, type AwsSettings } from '../lambdas/adapters/awsClients.js';
import { emulatorAnswers, type LocalAws, startLocalAws } from './emulator.js';
import { AwsTargetError } from './errors.js';

/** Where the CLI's AWS calls go, and whether this process owns an emulator it must stop. */
export interface AwsTarget {
  readonly clientConfig: AwsSettings;
  readonly description: string;
  readonly ownedEmulator: LocalAws | null;
}

/** The local emulator's well-known port, so `watch`, `history` and `failover emulator` find each other. */
export const LOCAL_AWS_PORT = Number(process.env.FAILOVER_LOCAL_AWS_PORT ?? 4566);
const DUMMY_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

function hasRealAwsCredentials(env: NodeJS.ProcessEnv): boolean {
  const credentials = env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  return Boolean(credentials && (env.AWS_REGION || env.AWS_DEFAULT_REGION));
}

/**
 * AWS_ENDPOINT_URL wins; then real AWS when credentials and a region are set; otherwise the local emulator on
 * 127.0.0.1:4566, reused when one runs, started (and owned by this process) when `start` allows it.
 */
export async function resolveAws(options: { start: boolean }, env: NodeJS.ProcessEnv = process.env): Promise<AwsTarget> {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (env.AWS_ENDPOINT_URL) {
    const credentials = env.AWS_ACCESS_KEY_ID ? undefined : DUMMY_CREDENTIALS;
    return {
      clientConfig: { ...AWS_CALL_TIMEOUTS, endpoint: env.AWS_ENDPOINT_URL, region, ...(credentials ? { credentials } : {}) },
      description: `AWS endpoint ${env.AWS_ENDPOINT_URL}`,
      ownedEmulator: null,
    };
  }
  if (hasRealAwsCredentials(env))
    return { clientConfig: { ...AWS_CALL_TIMEOUTS, region }, description: `AWS region ${region}`, ownedEmulator: null };
  const endpoint = `http://127.0.0.1:${LOCAL_AWS_PORT}`;
  const local = { ...AWS_CALL_TIMEOUTS, endpoint, region, credentials: DUMMY_CREDENTIALS };
  if (await emulatorAnswers(endpoint))
    return { clientConfig: local, description: `local AWS emulator at ${endpoint}`, ownedEmulator: null };
  if (!options.start) {
    throw new AwsTargetError(
      `no AWS endpoint is configured and no local emulator answers at ${endpoint}: ` +
        'run `failover emulator` (or `failover watch`, which starts one), or set AWS_ENDPOINT_URL, or AWS credentials and AWS_REGION',
    );
  }
  const emulator = await startLocalAws({ port: LOCAL_AWS_PORT });
  return { clientConfig: local, description: `local AWS emulator started at ${endpoint}`, ownedEmulator: emulator };
}
