import { StraitError } from '../../core/errors.ts';

/** When a bearer token was issued and when it expires, in seconds since the epoch. */
export interface TokenTimes {
  issuedAt: number;
  expiresAt: number;
}

/** Reads `iat` and `exp` from a JWT's claims (no signature check: the issuer checks it). */
export function tokenTimes(token: string): TokenTimes {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      iat?: unknown;
      exp?: unknown;
    };
    if (typeof claims.exp !== 'number') throw new Error('it has no exp claim');
    const issuedAt = typeof claims.iat === 'number' ? claims.iat : Math.floor(Date.now() / 1000);
    return { issuedAt, expiresAt: claims.exp };
  } catch (error) {
    throw new StraitError('E_TOKEN_INVALID', `the link's token cannot be read: ${(error as Error).message}`, {
      hint: 'link again: strait mc link',
    });
  }
}

/**
 * Whether a bearer token was issued by a Kubernetes API server (its claims
 * carry `kubernetes.io`); a link's credential is read accordingly.
 */
export function isKubernetesToken(token: string): boolean {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    return typeof claims['kubernetes.io'] === 'object' && claims['kubernetes.io'] !== null;
  } catch {
    return false;
  }
}

export interface TokenRenewerOptions {
  /** The token in use now. */
  token: string;
  /** Asks the token's issuer for a new token of the same account, authenticating with `current`. */
  renew: (current: string, expirationSeconds: number) => Promise<string>;
  /** Called with each new token, after it replaced the old one. */
  onRenewed: (token: string) => void;
  onError?: (error: unknown) => void;
  /** Share of the lifetime after which the token is renewed (default 0.7). */
  renewAt?: number;
  /** Delay before trying again after a failed renewal (default 30 s, never past expiry). */
  retryMs?: number;
}

/**
 * Keeps a short-lived token fresh: at 70% of its lifetime it asks for a new
 * one of the same lifetime, with the current token as the credential, so a
 * link never holds a long-lived secret. A failed renewal is retried until the
 * token expires.
 */
export class TokenRenewer {
  readonly #options: TokenRenewerOptions;
  #token: string;
  #timer: NodeJS.Timeout | undefined;
  #pending: Promise<string> | undefined;
  #stopped = false;

  constructor(options: TokenRenewerOptions) {
    this.#options = options;
    this.#token = options.token;
    tokenTimes(options.token);
  }

  /** The current token. */
  get token(): string {
    return this.#token;
  }

  start(): void {
    this.#schedule(this.#dueInMs());
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Renews now (once, however many callers ask at the same time); resolves to the new token. */
  renewNow(): Promise<string> {
    this.#pending ??= this.#renew().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #renew(): Promise<string> {
    const { issuedAt, expiresAt } = tokenTimes(this.#token);
    // TokenRequest refuses lifetimes under ten minutes.
    const seconds = Math.max(600, expiresAt - issuedAt);
    const fresh = await this.#options.renew(this.#token, seconds);
    tokenTimes(fresh);
    this.#token = fresh;
    if (!this.#stopped) this.#options.onRenewed(fresh);
    return fresh;
  }

  #dueInMs(): number {
    const { issuedAt, expiresAt } = tokenTimes(this.#token);
    const renewAt = this.#options.renewAt ?? 0.7;
    return Math.max(0, (issuedAt + (expiresAt - issuedAt) * renewAt) * 1000 - Date.now());
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    // setTimeout holds at most ~24.8 days; a longer wait is taken in steps.
    this.#timer = setTimeout(() => this.#fire(), Math.min(delayMs, 2 ** 31 - 1));
    this.#timer.unref();
  }

  #fire(): void {
    if (this.#dueInMs() > 0) {
      this.#schedule(this.#dueInMs());
      return;
    }
    this.renewNow().then(
      () => this.#schedule(this.#dueInMs()),
      (error: unknown) => {
        this.#options.onError?.(error);
        const untilExpiry = tokenTimes(this.#token).expiresAt * 1000 - Date.now();
        if (untilExpiry > 0) this.#schedule(Math.min(this.#options.retryMs ?? 30_000, untilExpiry));
      },
    );
  }
}
