import { loadSharedConfigFiles } from '@smithy/core/config';

/** A profile of the shared AWS files, as far as choosing where the CLI's calls go needs it. */
export interface SharedProfile {
  readonly name: string;
  readonly region: string | undefined;
  /** The profile's `endpoint_url`: the SDK honours it only for the AWS_PROFILE profile, the CLI for `--profile` too. */
  readonly endpointUrl: string | undefined;
}

/**
 * The profiles of ~/.aws/config and ~/.aws/credentials (or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE), read
 * by the SDK's own parser so that `[profile x]` sections and the files' precedence mean what they mean to the SDK.
 */
export async function sharedProfiles(): Promise<Map<string, SharedProfile>> {
  const { configFile, credentialsFile } = await loadSharedConfigFiles({ ignoreCache: true });
  const names = new Set([...Object.keys(configFile), ...Object.keys(credentialsFile)]);
  return new Map(
    [...names].map((name) => {
      const settings = { ...credentialsFile[name], ...configFile[name] };
      return [name, { name, region: settings.region, endpointUrl: settings.endpoint_url }] as const;
    }),
  );
}
