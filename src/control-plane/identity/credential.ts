import { StraitError } from '../../core/errors.ts';

/**
 * Checks a platform credential sent with a Certify request: the local
 * platform's workload tokens, or Kubernetes service-account tokens through
 * TokenReview. The identity service signs only what a validator vouches for.
 */
export interface CredentialValidator {
  /**
   * Resolves to the identity the token proves when it is valid and proves
   * `requestedIdentity`. Throws CredentialError (E_CREDENTIAL_INVALID) with the
   * reason otherwise. `caller` names the requester in messages (e.g. its address).
   */
  validate(token: Uint8Array, requestedIdentity: string, caller: string): Promise<{ identity: string }>;
}

/** A credential that is missing, malformed, forged, expired, or for another identity or audience. */
export class CredentialError extends StraitError {
  constructor(caller: string, reason: string, options: { hint?: string; cause?: unknown } = {}) {
    super('E_CREDENTIAL_INVALID', `${caller}: credential refused: ${reason}`, options);
    this.name = 'CredentialError';
  }
}
