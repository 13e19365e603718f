/** An alert could not be delivered (after the adapter's own retries): the stream record must be retried. */
export class DeliveryError extends Error {
  constructor(
    readonly channel: 'sns' | 'slack',
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${channel}: ${message}`, options);
    this.name = 'DeliveryError';
  }
}
