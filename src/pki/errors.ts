import { StraitError } from '../core/errors.ts';

/**
 * A certificate, key, request or chain that cannot be used. The message names
 * the input (a file path or a caller) and the reason; `code` is one of:
 * E_PEM_INVALID, E_KEY_INVALID, E_KEY_UNSUPPORTED, E_KEY_MISMATCH, E_CERT_INVALID,
 * E_CERT_NOT_CA, E_CERT_EXPIRED, E_CERT_NOT_YET_VALID, E_CHAIN_INVALID,
 * E_CSR_INVALID, E_CSR_IDENTITY_MISMATCH, E_IDENTITY_MISMATCH, E_BUNDLE_EMPTY.
 */
export class PkiError extends StraitError {
  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'PkiError';
  }
}
