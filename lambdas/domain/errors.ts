/**
 * Every typed error of the product extends `FailoverError`, so that the CLI and the handlers act on an error by
 * its kind (`exitCode`) instead of keeping a list of class names. A message always says what is wrong and, where
 * a person can act on it, how to fix it.
 */
export class FailoverError extends Error {
  /** What the CLI exits with: 2 when the command was called wrongly, 1 when it failed while running. */
  readonly exitCode: 1 | 2 = 1;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A command called with options that do not fit together; printed as one line, exit code 2. */
export class UsageError extends FailoverError {
  override readonly exitCode = 2;
}

/** The configuration file (or the configuration compiled into a Lambda bundle) is invalid; names the key. */
export class ConfigError extends FailoverError {}

/** A Lambda function's environment is incomplete: raised at module init, naming the variable. */
export class EnvironmentError extends FailoverError {}

/** The audit trail could not be read or written. */
export class StoreError extends FailoverError {}

/** Another poller or notifier (or a retry of this one) already wrote a newer state: reload, work again, commit again. */
export class StateConflictError extends StoreError {
  constructor(
    readonly cluster: string,
    readonly expectedVersion: number,
    writer = 'another poller',
  ) {
    super(`state of cluster ${cluster} is no longer at version ${expectedVersion}: ${writer} wrote it first`);
  }
}

/** An alert could not be delivered (after the adapter's own retries): the stream record must be retried. */
export class DeliveryError extends FailoverError {
  constructor(
    readonly channel: 'sns' | 'slack' | 'pagerduty',
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${channel}: ${message}`, options);
  }
}

/** A Patroni reply that parsed as JSON but has the wrong shape; the poller records the member as `invalid_reply`. */
export class PatroniReplyError extends FailoverError {}

/** A stream record that carries no event of ours: logged and passed over (it stays in the table). */
export class NotAnEventError extends FailoverError {}

/** Narrows a caught value to an Error: anything else thrown (a string, an object) is wrapped, never cast. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(typeof value === 'string' ? value : JSON.stringify(value));
}

/** The message of whatever was thrown. */
export function messageOf(value: unknown): string {
  return asError(value).message;
}
