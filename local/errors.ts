import { FailoverError } from '../lambdas/domain/errors.js';

/** The local AWS emulator (moto) could not be started or does not answer. */
export class EmulatorError extends FailoverError {}

/** No AWS endpoint, credentials or emulator to send the CLI's AWS calls to. */
export class AwsTargetError extends FailoverError {}

/** The poller's thread could not start polling, or crashed: the message is the poller's own. */
export class PollerThreadError extends FailoverError {
  override readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2) {
    super(message);
    this.exitCode = exitCode;
  }
}
