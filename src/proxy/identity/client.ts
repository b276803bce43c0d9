import { type IdentityEndpoint, requestCredentials } from './certify.ts';
import type { WorkloadCredentials } from './credentials.ts';

export interface IdentityClientOptions extends IdentityEndpoint {
  /** The identity to hold. */
  identity: string;
  /** The current platform credential; read again before every request (tokens rotate). */
  token: () => Uint8Array | string | Promise<Uint8Array | string>;
  /** Refresh after this fraction of the remaining lifetime; default 0.7. */
  refreshFraction?: number;
  /** Bounds on the time between refreshes; default 10 s and 24 h. */
  minRefreshMs?: number;
  maxRefreshMs?: number;
  /** Retry delays after a failure grow from initial to max (doubling, with jitter); default 1 s and 60 s. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

type Listener<T> = (value: T) => void;

/**
 * Keeps a workload's certificate fresh: requests one at start, refreshes at
 * 70% of its lifetime, retries failures with exponential backoff and jitter,
 * and tells listeners about every new certificate so TLS servers and clients
 * can swap it in (server.setSecureContext) without dropping connections.
 */
export class IdentityClient {
  readonly #options: IdentityClientOptions;
  #current: WorkloadCredentials | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;
  #abort = new AbortController();
  readonly #credentialListeners = new Set<Listener<WorkloadCredentials>>();
  readonly #errorListeners = new Set<Listener<Error>>();
  readonly #waiters: { resolve: Listener<WorkloadCredentials>; reject: Listener<Error> }[] = [];

  constructor(options: IdentityClientOptions) {
    this.#options = { ...options };
  }

  /** The credentials in use, once the first request has succeeded. */
  get current(): WorkloadCredentials | undefined {
    return this.#current;
  }

  /** Starts requesting; resolves with the first credentials (retrying until then). */
  start(): Promise<WorkloadCredentials> {
    const first = this.ready();
    if (!this.#timer && !this.#current) this.#schedule(0);
    return first;
  }

  /** Resolves with the current credentials, or the first ones to arrive. */
  ready(): Promise<WorkloadCredentials> {
    if (this.#current) return Promise.resolve(this.#current);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Calls `listener` with every new set of credentials; returns an unsubscribe function. */
  onCredentials(listener: Listener<WorkloadCredentials>): () => void {
    this.#credentialListeners.add(listener);
    return () => this.#credentialListeners.delete(listener);
  }

  /** Calls `listener` with every failed attempt (the client keeps retrying). */
  onError(listener: Listener<Error>): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /** Uses a new trust bundle from the next request on (anchor rotation). */
  setTrustBundle(pem: string): void {
    this.#options.trustBundlePem = pem;
  }

  /** Requests new credentials now, outside the schedule. */
  refreshNow(): void {
    this.#schedule(0);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    const error = new Error('identity client closed');
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#attempt(), delayMs);
    // Until the first certificate arrives, the pending attempt is what keeps a
    // starting process alive; afterwards, refreshes must not hold it open.
    if (this.#current) this.#timer.unref();
  }

  async #attempt(): Promise<void> {
    let credentials: WorkloadCredentials;
    try {
      const raw = await this.#options.token();
      const token = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
      credentials = await requestCredentials(this.#options, {
        identity: this.#options.identity,
        token,
        signal: this.#abort.signal,
      });
    } catch (error) {
      if (this.#closed) return;
      this.#failures++;
      for (const listener of this.#errorListeners) listener(error as Error);
      this.#schedule(this.#backoffMs());
      return;
    }
    if (this.#closed) return;
    this.#failures = 0;
    this.#current = credentials;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(credentials);
    for (const listener of this.#credentialListeners) listener(credentials);
    this.#schedule(refreshDelayMs(credentials.notAfter, Date.now(), this.#options));
  }

  /** Exponential backoff with jitter: a random delay in [½, 1] × min(max, initial × 2^(failures−1)). */
  #backoffMs(): number {
    const initial = this.#options.backoffInitialMs ?? 1_000;
    const max = this.#options.backoffMaxMs ?? 60_000;
    const ceiling = Math.min(max, initial * 2 ** Math.min(this.#failures - 1, 30));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }
}

/**
 * When to refresh a certificate expiring at `notAfter`: after `refreshFraction`
 * (default 70%) of its remaining lifetime, kept within [minRefreshMs, maxRefreshMs]
 * (default 10 s to 24 h).
 */
export function refreshDelayMs(
  notAfter: Date,
  now: number,
  options: Pick<IdentityClientOptions, 'refreshFraction' | 'minRefreshMs' | 'maxRefreshMs'> = {},
): number {
  const delay = (notAfter.getTime() - now) * (options.refreshFraction ?? 0.7);
  return Math.min(Math.max(delay, options.minRefreshMs ?? 10_000), options.maxRefreshMs ?? 86_400_000);
}
