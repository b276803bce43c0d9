import { CredentialError, type CredentialValidator } from '../../control-plane/identity/credential.ts';
import { identityName } from '../../core/identity-name.ts';
import type { KubeClient } from './client.ts';
import { reviewToken } from './tokens.ts';

/** Audience of the projected service-account tokens pods send to the identity service. */
export const KUBERNETES_IDENTITY_AUDIENCE = 'identity.strait.io';

export interface TokenReviewValidatorOptions {
  /** The cluster whose API server reviews tokens; the identity service needs `create` on tokenreviews. */
  client: KubeClient;
  /** Default identity.strait.io. */
  audience?: string;
  controlPlaneNamespace?: string;
  trustDomain?: string;
}

/**
 * Checks Kubernetes service-account tokens for the identity service: the API
 * server reviews each token (TokenReview, bound to the identity audience), and
 * the service account it names must be the one in the requested identity.
 */
export class TokenReviewValidator implements CredentialValidator {
  readonly #options: TokenReviewValidatorOptions;

  constructor(options: TokenReviewValidatorOptions) {
    this.#options = options;
  }

  async validate(
    token: Uint8Array,
    requestedIdentity: string,
    caller: string,
  ): Promise<{ identity: string }> {
    const text = Buffer.from(token).toString('utf8').trim();
    if (text === '') throw new CredentialError(caller, 'the token is empty');
    const audience = this.#options.audience ?? KUBERNETES_IDENTITY_AUDIENCE;
    const review = await reviewToken(this.#options.client, text, { audiences: [audience] });
    if (!review.authenticated) {
      throw new CredentialError(caller, `the API server rejected the token: ${review.error}`, {
        hint: `mount a projected service-account token with audience "${audience}"`,
      });
    }
    if (!review.serviceAccount) {
      throw new CredentialError(
        caller,
        `the token belongs to user "${review.username}", not to a service account`,
      );
    }
    const identity = identityName({
      serviceAccount: review.serviceAccount.name,
      namespace: review.serviceAccount.namespace,
      ...(this.#options.controlPlaneNamespace
        ? { controlPlaneNamespace: this.#options.controlPlaneNamespace }
        : {}),
      ...(this.#options.trustDomain ? { trustDomain: this.#options.trustDomain } : {}),
    });
    if (identity !== requestedIdentity) {
      throw new CredentialError(caller, `the token proves "${identity}", not "${requestedIdentity}"`);
    }
    return { identity };
  }
}
