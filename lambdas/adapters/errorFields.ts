/**
 * What a caught error from Node, undici, `pg` or the AWS SDK says about itself, read without casts: those
 * libraries attach `code` (and a `cause` with its own `code`) to their errors, and anything at all may be thrown.
 */
export interface ErrorFields {
  readonly name: string;
  readonly message: string;
  /** The error's own code, else its cause's (`ECONNREFUSED`, `UND_ERR_SOCKET`, a SQLSTATE...), else ''. */
  readonly code: string;
  readonly causeMessage: string | null;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && key in value ? (value as Record<string, unknown>)[key] : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function errorFields(error: unknown): ErrorFields {
  const cause = field(error, 'cause');
  return {
    name: text(field(error, 'name')) ?? '',
    message: text(field(error, 'message')) ?? String(error),
    code: text(field(error, 'code')) ?? text(field(cause, 'code')) ?? '',
    causeMessage: text(field(cause, 'message')) ?? null,
  };
}

/** Node's error codes for a peer certificate that was not trusted or does not name the host (HTTPS and PostgreSQL). */
const TLS_REJECTION_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL|HOSTNAME|IP_MISMATCH/;

export function isTlsRejection(code: string | undefined): boolean {
  return TLS_REJECTION_CODE.test(code ?? '');
}
