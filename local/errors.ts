import { FailoverError } from '../lambdas/domain/errors.js';

/** The local AWS emulator (moto) could not be started or does not answer. */
export class EmulatorError extends FailoverError {}

/** No AWS endpoint, credentials or emulator to send the CLI's AWS calls to. */
export class AwsTargetError extends FailoverError {}
