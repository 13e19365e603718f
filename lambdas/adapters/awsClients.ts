export interface AwsCallLimits {
  readonly requestHandler: { readonly connectionTimeout: number; readonly requestTimeout: number };
  readonly maxAttempts: number;
}

/**
 * Every AWS SDK client gets these: a call that hangs must fail within seconds, not hold a poll round or a
 * stream batch until the Lambda timeout. The SDK retries throttling and 5xx on top (standard mode).
 */
export const AWS_CALL_TIMEOUTS: AwsCallLimits = {
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
  maxAttempts: 3,
};
