export interface AwsCallLimits {
  readonly requestHandler: { readonly connectionTimeout: number; readonly requestTimeout: number; readonly throwOnRequestTimeout: boolean };
  readonly maxAttempts: number;
}

/**
 * Every AWS SDK client gets these: a call that hangs must fail within seconds, not hold a poll round or a
 * stream batch until the Lambda timeout. The SDK retries throttling and 5xx on top (standard mode). Without
 * `throwOnRequestTimeout`, @smithy/node-http-handler only warns when `requestTimeout` passes and the call goes on
 * waiting (a stopped emulator held polls for 17 s).
 */
export const AWS_CALL_TIMEOUTS: AwsCallLimits = {
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
  maxAttempts: 3,
};

/**
 * What every SDK client of the pipeline is built from: the call limits, plus, off AWS, where the endpoint is
 * (the local emulator) and which credentials to use there. Plain data, so the CLI can decide it without the SDK.
 */
export interface AwsSettings extends AwsCallLimits {
  readonly endpoint?: string;
  readonly region?: string;
  /** A profile of the shared config files (~/.aws/config, ~/.aws/credentials): credentials and, unless given, region. */
  readonly profile?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}
