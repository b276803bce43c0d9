/**
 * Limits retries to a fraction of recent requests plus a floor per second,
 * over a sliding window of `ttlMs` kept as one-second buckets (Linkerd's
 * retry budget: by default retries add at most 20% to the load, plus 10 per
 * second).
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #minPerSecond: number;
  readonly #seconds: number;
  readonly #now: () => number;
  readonly #requests: Float64Array;
  readonly #retries: Float64Array;
  #second = -1;

  constructor(
    options: { retryRatio?: number; minRetriesPerSecond?: number; ttlMs?: number; now?: () => number } = {},
  ) {
    this.#ratio = options.retryRatio ?? 0.2;
    this.#minPerSecond = options.minRetriesPerSecond ?? 10;
    this.#seconds = Math.max(1, Math.round((options.ttlMs ?? 10_000) / 1000));
    this.#now = options.now ?? Date.now;
    this.#requests = new Float64Array(this.#seconds);
    this.#retries = new Float64Array(this.#seconds);
  }

  /** Records an original (non-retry) request. */
  deposit(): void {
    const slot = this.#advance();
    this.#requests[slot] = (this.#requests[slot] as number) + 1;
  }

  /** Takes one retry from the budget; false when it is spent. */
  withdraw(): boolean {
    const slot = this.#advance();
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < this.#seconds; i++) {
      requests += this.#requests[i] as number;
      retries += this.#retries[i] as number;
    }
    if (retries + 1 > requests * this.#ratio + this.#minPerSecond * this.#seconds) return false;
    this.#retries[slot] = (this.#retries[slot] as number) + 1;
    return true;
  }

  #advance(): number {
    const second = Math.floor(this.#now() / 1000);
    if (this.#second === -1) this.#second = second;
    const steps = Math.min(second - this.#second, this.#seconds);
    for (let k = 1; k <= steps; k++) {
      const slot = (this.#second + k) % this.#seconds;
      this.#requests[slot] = 0;
      this.#retries[slot] = 0;
    }
    if (second > this.#second) this.#second = second;
    return this.#second % this.#seconds;
  }
}
