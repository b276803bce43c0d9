import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { CredentialError, type CredentialValidator } from '../../control-plane/identity/credential.ts';
import { StraitError } from '../../core/errors.ts';
import { parseIdentityName } from '../../core/identity-name.ts';

/**
 * The local platform's workload credentials: compact Ed25519-signed tokens
 * (JWT form, alg EdDSA) naming a workload and the identity it may hold,
 * issued and checked with a per-cluster key.
 */

/** The audience of tokens meant for the identity service. */
export const IDENTITY_AUDIENCE = 'identity.strait.io';
const DEFAULT_TOKEN_TTL_MS = 24 * 3_600_000;
const DEFAULT_CLOCK_SKEW_MS = 20_000;

export interface WorkloadTokenClaims {
  /** The identity the workload may hold (`sub`). */
  identity: string;
  namespace: string;
  /** The workload's name. */
  workload: string;
  /** `aud`; default identity.strait.io. */
  audience: string;
  /** `iat` and `exp`, in seconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
}

/** A new per-cluster signing key pair, PEM. */
export function createWorkloadTokenKeys(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }) as string,
  };
}

function asKey(key: KeyObject | string, kind: 'private' | 'public'): KeyObject {
  const object =
    typeof key !== 'string' ? key : kind === 'private' ? createPrivateKey(key) : createPublicKey(key);
  if (object.asymmetricKeyType !== 'ed25519') {
    throw new StraitError(
      'E_KEY_UNSUPPORTED',
      `workload tokens need an Ed25519 ${kind} key, got ${object.asymmetricKeyType}`,
    );
  }
  return object;
}

function keyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('base64url')
    .slice(0, 16);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Issues workload tokens with a cluster's private key. */
export class WorkloadTokenIssuer {
  readonly #key: KeyObject;
  readonly #kid: string;

  constructor(privateKey: KeyObject | string) {
    this.#key = asKey(privateKey, 'private');
    this.#kid = keyId(createPublicKey(this.#key));
  }

  /** A token proving `identity` for the given workload; valid for `ttlMs` (default 24h). */
  issue(options: {
    identity: string;
    namespace: string;
    workload: string;
    audience?: string;
    ttlMs?: number;
    now?: Date;
  }): string {
    const parts = parseIdentityName(options.identity);
    if (parts.namespace !== options.namespace) {
      throw new StraitError(
        'E_TOKEN_CLAIMS',
        `identity "${options.identity}" is not in namespace "${options.namespace}"`,
      );
    }
    const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
    const claims = {
      sub: options.identity,
      namespace: options.namespace,
      workload: options.workload,
      aud: options.audience ?? IDENTITY_AUDIENCE,
      iat: now,
      exp: now + Math.floor((options.ttlMs ?? DEFAULT_TOKEN_TTL_MS) / 1000),
    };
    const signingInput = `${b64({ alg: 'EdDSA', typ: 'JWT', kid: this.#kid })}.${b64(claims)}`;
    return `${signingInput}.${sign(null, Buffer.from(signingInput), this.#key).toString('base64url')}`;
  }
}

export interface WorkloadTokenValidatorOptions {
  /** The cluster's public key(s); several during a key rotation. */
  publicKeys: (KeyObject | string)[];
  /** Default identity.strait.io. */
  audience?: string;
  /** How far clocks may disagree; default 20 s. */
  clockSkewMs?: number;
  /** The clock; default Date.now. */
  now?: () => number;
}

/** Checks workload tokens for the identity service (a CredentialValidator). */
export class WorkloadTokenValidator implements CredentialValidator {
  readonly #keys: Map<string, KeyObject>;
  readonly #audience: string;
  readonly #skewSeconds: number;
  readonly #now: () => number;

  constructor(options: WorkloadTokenValidatorOptions) {
    this.#keys = new Map(
      options.publicKeys.map((key) => {
        const object = asKey(key, 'public');
        return [keyId(object), object];
      }),
    );
    this.#audience = options.audience ?? IDENTITY_AUDIENCE;
    this.#skewSeconds = Math.ceil((options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS) / 1000);
    this.#now = options.now ?? Date.now;
  }

  async validate(
    token: Uint8Array,
    requestedIdentity: string,
    caller: string,
  ): Promise<{ identity: string }> {
    const claims = this.verify(Buffer.from(token).toString('utf8'), caller);
    if (claims.identity !== requestedIdentity) {
      throw new CredentialError(caller, `the token proves "${claims.identity}", not "${requestedIdentity}"`);
    }
    return { identity: claims.identity };
  }

  /** Verifies a token's signature, audience and times; returns its claims or throws CredentialError. */
  verify(token: string, caller: string): WorkloadTokenClaims {
    if (token.length === 0) {
      throw new CredentialError(caller, 'no token was sent', {
        hint: 'send the workload token issued by the cluster',
      });
    }
    const parts = token.split('.');
    if (parts.length !== 3)
      throw new CredentialError(caller, 'the token is malformed (want header.claims.signature)');
    const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
    const header = decodeJson(headerPart, caller, 'header');
    if (header.alg !== 'EdDSA')
      throw new CredentialError(caller, `the token's algorithm "${String(header.alg)}" is not EdDSA`);
    const key = typeof header.kid === 'string' ? this.#keys.get(header.kid) : undefined;
    const signature = Buffer.from(signaturePart, 'base64url');
    if (!key || !verify(null, Buffer.from(`${headerPart}.${claimsPart}`), key, signature)) {
      throw new CredentialError(
        caller,
        'the token signature does not verify (forged, or signed by another cluster)',
      );
    }
    const raw = decodeJson(claimsPart, caller, 'claims');
    const claims = {
      identity: raw.sub,
      namespace: raw.namespace,
      workload: raw.workload,
      audience: raw.aud,
      issuedAt: raw.iat,
      expiresAt: raw.exp,
    };
    if (
      typeof claims.identity !== 'string' ||
      typeof claims.namespace !== 'string' ||
      typeof claims.workload !== 'string' ||
      typeof claims.audience !== 'string' ||
      typeof claims.issuedAt !== 'number' ||
      typeof claims.expiresAt !== 'number'
    ) {
      throw new CredentialError(
        caller,
        'the token lacks required claims (sub, namespace, workload, aud, iat, exp)',
      );
    }
    if (claims.audience !== this.#audience) {
      throw new CredentialError(
        caller,
        `the token is for audience "${claims.audience}", not "${this.#audience}"`,
      );
    }
    const now = Math.floor(this.#now() / 1000);
    if (now > claims.expiresAt + this.#skewSeconds) {
      throw new CredentialError(
        caller,
        `the token expired at ${new Date(claims.expiresAt * 1000).toISOString()}`,
        {
          hint: 'the workload needs a fresh token from its cluster',
        },
      );
    }
    if (claims.issuedAt > now + this.#skewSeconds) {
      throw new CredentialError(
        caller,
        `the token is issued in the future (${new Date(claims.issuedAt * 1000).toISOString()})`,
      );
    }
    let namespaceOfIdentity: string;
    try {
      namespaceOfIdentity = parseIdentityName(claims.identity).namespace;
    } catch {
      throw new CredentialError(caller, `the token's subject "${claims.identity}" is not an identity`);
    }
    if (namespaceOfIdentity !== claims.namespace) {
      throw new CredentialError(caller, `the token's identity is not in its namespace "${claims.namespace}"`);
    }
    return claims as WorkloadTokenClaims;
  }
}

function decodeJson(part: string, caller: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new CredentialError(caller, `the token ${what} is not base64url JSON`);
}
