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
  /** When the current probe was let through; undefined when there is none. */
  #probeAt: number | undefined;
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
    const now = this.#options.now();
    return now >= this.#until && !this.#probeOutstanding(now);
  }

  /** Call when a request is sent while `available()` was true. */
  acquire(): void {
    const now = this.#options.now();
    if (this.#until !== 0 && now >= this.#until && !this.#probeOutstanding(now)) this.#probeAt = now;
  }

  /** A probe whose outcome never came (cancelled, lost) stops counting after one penalty. */
  #probeOutstanding(now: number): boolean {
    return this.#probeAt !== undefined && now - this.#probeAt < this.#penaltyMs;
  }

  success(): void {
    this.#consecutive = 0;
    this.#penaltyMs = 0;
    this.#until = 0;
    this.#probeAt = undefined;
  }

  failure(): void {
    this.#consecutive++;
    if (this.#probeAt !== undefined || this.#consecutive >= this.#options.maxFailures) {
      const { minPenaltyMs, maxPenaltyMs, jitter, now, random } = this.#options;
      this.#penaltyMs = Math.min(maxPenaltyMs, this.#penaltyMs === 0 ? minPenaltyMs : this.#penaltyMs * 2);
      this.#until = now() + this.#penaltyMs * (1 + jitter * (random() * 2 - 1));
      this.#probeAt = undefined;
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
