/**
 * Consecutive-failure breaker for one endpoint: after `maxFailures` failures
 * in a row the endpoint is ejected for a penalty that doubles (with jitter) on
 * every failed probe, up to `maxPenaltyMs`. When the penalty ends one request
 * is let through as a probe; success closes the breaker.
 */
export class FailureAccrual {
  #consecutive = 0;
  #penaltyMs = 0;
  #until = 0;
  #probing = false;
  readonly #options: Required<FailureAccrualOptions>;

  constructor(options: FailureAccrualOptions = {}) {
    this.#options = {
      maxFailures: options.maxFailures ?? 7,
      minPenaltyMs: options.minPenaltyMs ?? 1000,
      maxPenaltyMs: options.maxPenaltyMs ?? 60_000,
      jitter: options.jitter ?? 0.5,
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
    };
  }

  /** Whether a request may be sent now; a request let through after a penalty is the probe. */
  available(): boolean {
    if (this.#until === 0) return true;
    if (this.#probing || this.#options.now() < this.#until) return false;
    return true;
  }

  /** Call when a request is sent while `available()` was true. */
  acquire(): void {
    if (this.#until !== 0 && this.#options.now() >= this.#until) this.#probing = true;
  }

  success(): void {
    this.#consecutive = 0;
    this.#penaltyMs = 0;
    this.#until = 0;
    this.#probing = false;
  }

  failure(): void {
    this.#consecutive++;
    if (this.#probing || this.#consecutive >= this.#options.maxFailures) {
      const { minPenaltyMs, maxPenaltyMs, jitter, now, random } = this.#options;
      this.#penaltyMs = Math.min(maxPenaltyMs, this.#penaltyMs === 0 ? minPenaltyMs : this.#penaltyMs * 2);
      this.#until = now() + this.#penaltyMs * (1 + jitter * (random() * 2 - 1));
      this.#probing = false;
    }
  }
}

export interface FailureAccrualOptions {
  maxFailures?: number;
  minPenaltyMs?: number;
  maxPenaltyMs?: number;
  jitter?: number;
  now?: () => number;
  random?: () => number;
}
