import { AWS_CALL_TIMEOUTS, type AwsSettings } from '../lambdas/adapters/awsClients.js';
import { sharedProfiles } from '../lambdas/adapters/awsProfiles.js';
import { UsageError } from '../lambdas/domain/errors.js';
import { emulatorAnswers, type LocalAws, startLocalAws } from './emulator.js';
import { AwsTargetError } from './errors.js';

/** Where the CLI's AWS calls go, and whether this process owns an emulator it must stop. */
export interface AwsTarget {
  readonly clientConfig: AwsSettings;
  /** The poller's own way in, where it has one: the local emulator's lane, served before every other call. */
  readonly pollerClientConfig?: AwsSettings;
  readonly description: string;
  readonly ownedEmulator: LocalAws | null;
}

/** What the user chose on the command line (`--profile`, `--region`, `--endpoint-url`); each wins over its variable. */
export interface AwsChoice {
  readonly profile?: string;
  readonly region?: string;
  readonly endpointUrl?: string;
}

/** The local emulator's well-known port, so `watch`, `history` and `failover emulator` find each other. */
export const LOCAL_AWS_PORT = Number(process.env.FAILOVER_LOCAL_AWS_PORT ?? 4566);
/** The local emulator's lane for the poller's commits: the port after its own. */
export const LOCAL_AWS_LANE_PORT = LOCAL_AWS_PORT + 1;
const DUMMY_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

type Profiles = Awaited<ReturnType<typeof sharedProfiles>>;

/** Where credentials come from, in the words a person would use; undefined when nothing is configured at all. */
function credentialSource(profile: string | undefined, env: NodeJS.ProcessEnv, profiles: Profiles): string | undefined {
  if (env.AWS_ACCESS_KEY_ID) return 'AWS_ACCESS_KEY_ID';
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) return 'AWS_WEB_IDENTITY_TOKEN_FILE';
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return 'the container credentials endpoint';
  if (profile) {
    if (!profiles.has(profile)) {
      const known = profiles.size > 0 ? `it has ${[...profiles.keys()].join(', ')}` : 'there are none';
      throw new UsageError(`no AWS profile "${profile}" in the shared config files (~/.aws/config, ~/.aws/credentials): ${known}`);
    }
    return `profile ${profile}`;
  }
  return profiles.has('default') ? 'the default profile' : undefined;
}

/** Region and endpoint: the flag, then its variable (AWS_REGION, AWS_DEFAULT_REGION; AWS_ENDPOINT_URL), then the profile's own. */
function placeOf(choice: AwsChoice, profile: string | undefined, env: NodeJS.ProcessEnv, profiles: Profiles) {
  const shared = profiles.get(profile ?? 'default');
  return {
    region: choice.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? shared?.region,
    endpoint: choice.endpointUrl ?? env.AWS_ENDPOINT_URL ?? shared?.endpointUrl,
  };
}

/**
 * `--endpoint-url` or AWS_ENDPOINT_URL wins; then real AWS through the SDK's default credential chain whenever
 * anything is configured (`--profile`, AWS_PROFILE, credential variables, a default profile in ~/.aws); only when
 * nothing at all is, the local emulator on 127.0.0.1:4566, reused when one runs, started (and owned by this
 * process) when `start` allows it. `onNote` hears which one was taken when it was not asked for explicitly.
 */
export async function resolveAws(
  options: { start: boolean; choice?: AwsChoice; onNote?: (note: string) => void },
  env: NodeJS.ProcessEnv = process.env,
): Promise<AwsTarget> {
  const choice = options.choice ?? {};
  const profile = choice.profile ?? env.AWS_PROFILE;
  const profiles = await sharedProfiles();
  const source = credentialSource(profile, env, profiles);
  const { region, endpoint } = placeOf(choice, profile, env, profiles);
  const fromChain = { ...AWS_CALL_TIMEOUTS, ...(profile ? { profile } : {}) };
  if (endpoint) {
    return {
      clientConfig: { ...fromChain, endpoint, region: region ?? 'us-east-1', ...(source ? {} : { credentials: DUMMY_CREDENTIALS }) },
      description: `AWS endpoint ${endpoint}`,
      ownedEmulator: null,
    };
  }
  if (source) {
    if (!region) {
      throw new UsageError(
        `AWS credentials come from ${source}, but no region is set: give --region, set AWS_REGION, or add region to the profile in ~/.aws/config`,
      );
    }
    return { clientConfig: { ...fromChain, region }, description: `AWS region ${region} (${source})`, ownedEmulator: null };
  }
  return localEmulator(options, region ?? 'us-east-1');
}

async function localEmulator(options: { start: boolean; onNote?: (note: string) => void }, region: string): Promise<AwsTarget> {
  const endpoint = `http://127.0.0.1:${LOCAL_AWS_PORT}`;
  const local = { ...AWS_CALL_TIMEOUTS, endpoint, region, credentials: DUMMY_CREDENTIALS };
  const lane = { ...local, endpoint: `http://127.0.0.1:${LOCAL_AWS_LANE_PORT}` };
  const unconfigured = 'no AWS profile, credentials or endpoint is configured';
  if (await emulatorAnswers(endpoint)) {
    options.onNote?.(`${unconfigured}: using the local AWS emulator at ${endpoint}`);
    // An emulator started by an older version has no lane; its one port then serves the poller too.
    const pollerClientConfig = (await emulatorAnswers(lane.endpoint)) ? lane : local;
    return { clientConfig: local, pollerClientConfig, description: `local AWS emulator at ${endpoint}`, ownedEmulator: null };
  }
  if (!options.start) {
    throw new AwsTargetError(
      `${unconfigured}, and no local emulator answers at ${endpoint}: ` +
        'give --profile (or set AWS_PROFILE), --endpoint-url, or AWS credentials; or run `failover emulator` for local use',
    );
  }
  const emulator = await startLocalAws({ port: LOCAL_AWS_PORT, lanePort: LOCAL_AWS_LANE_PORT });
  options.onNote?.(`${unconfigured}: started the local AWS emulator at ${endpoint}`);
  return {
    clientConfig: local,
    pollerClientConfig: lane,
    description: `local AWS emulator started at ${endpoint}`,
    ownedEmulator: emulator,
  };
}
