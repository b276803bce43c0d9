import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import { UnauthorizedError } from './status.ts';

/** Audience of tokens for the store API. */
export const API_AUDIENCE = 'strait-api';
/** Shortest and longest token lifetimes a TokenRequest may ask for (seconds), as Kubernetes. */
export const MIN_TOKEN_SECONDS = 600;
export const MAX_TOKEN_SECONDS = 48 * 3600;
export const DEFAULT_TOKEN_SECONDS = 3600;

/** What a ServiceAccount token says about its bearer. */
export interface ServiceAccountClaims {
  iss: string;
  /** `system:serviceaccount:<namespace>:<name>`. */
  sub: string;
  aud: string[];
  iat: number;
  exp: number;
  /** Unique per token. */
  jti: string;
  serviceAccount: { namespace: string; name: string; uid: string };
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT' })).toString('base64url');

/** A fresh Ed25519 signing key for a cluster's tokens, as PKCS#8 PEM. */
export function generateTokenKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/**
 * Issues and verifies the short-lived bearer tokens of a cluster's
 * ServiceAccounts (compact JWTs signed with Ed25519). Verification checks the
 * signature, issuer, audience and expiry; whether the ServiceAccount still
 * exists (revocation) is the authenticator's job.
 */
export class ServiceAccountTokens {
  readonly issuer: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;

  constructor(keyPem: string, issuer: string) {
    this.issuer = issuer;
    this.#privateKey = createPrivateKey(keyPem);
    this.#publicKey = createPublicKey(this.#privateKey);
  }

  issue(
    account: { namespace: string; name: string; uid: string },
    options: { expirationSeconds?: number; now?: Date } = {},
  ): { token: string; expirationTimestamp: string } {
    const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
    const lifetime = options.expirationSeconds ?? DEFAULT_TOKEN_SECONDS;
    const claims: ServiceAccountClaims = {
      iss: this.issuer,
      sub: `system:serviceaccount:${account.namespace}:${account.name}`,
      aud: [API_AUDIENCE],
      iat: now,
      exp: now + lifetime,
      jti: randomUUID(),
      serviceAccount: { ...account },
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const signature = sign(null, Buffer.from(`${HEADER}.${payload}`), this.#privateKey).toString('base64url');
    return {
      token: `${HEADER}.${payload}.${signature}`,
      expirationTimestamp: new Date(claims.exp * 1000).toISOString(),
    };
  }

  /** The claims of a valid token; throws UnauthorizedError saying why it is not. */
  verify(token: string, now: Date = new Date()): ServiceAccountClaims {
    const parts = token.split('.');
    if (parts.length !== 3 || token.length > 8192) throw new UnauthorizedError('the token is malformed');
    const [header, payload, signature] = parts as [string, string, string];
    if (header !== HEADER)
      throw new UnauthorizedError('the token is not a ServiceAccount token of this cluster');
    const valid = verify(
      null,
      Buffer.from(`${header}.${payload}`),
      this.#publicKey,
      Buffer.from(signature, 'base64url'),
    );
    if (!valid) throw new UnauthorizedError('the token signature is not valid for this cluster');
    let claims: ServiceAccountClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ServiceAccountClaims;
    } catch {
      throw new UnauthorizedError('the token payload is not JSON');
    }
    if (claims.iss !== this.issuer) throw new UnauthorizedError(`the token was issued by "${claims.iss}"`);
    if (!Array.isArray(claims.aud) || !claims.aud.includes(API_AUDIENCE)) {
      throw new UnauthorizedError('the token is not meant for this API');
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now.getTime()) {
      throw new UnauthorizedError('the token has expired');
    }
    const account = claims.serviceAccount;
    if (!account || typeof account.name !== 'string' || typeof account.namespace !== 'string') {
      throw new UnauthorizedError('the token names no ServiceAccount');
    }
    return claims;
  }
}
