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

/** Node's error codes for a peer certificate that was not trusted or does not name the host (HTTPS and PostgreSQL). */
const TLS_REJECTION_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL|HOSTNAME|IP_MISMATCH/;

export function isTlsRejection(code: string | undefined): boolean {
  return TLS_REJECTION_CODE.test(code ?? '');
}
