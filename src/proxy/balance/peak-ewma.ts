/**
 * Peak-EWMA load of one endpoint: an exponentially weighted moving average of
 * its latency that jumps up to any slower observation at once (the peak) and
 * decays back slowly, multiplied by the requests in flight.
 */
export class PeakEwma {
  #cost: number;
  #stamp: number;
  #pending = 0;
  readonly #decayMs: number;
  readonly #now: () => number;

  constructor(options: { defaultRttMs?: number; decayMs?: number; now?: () => number } = {}) {
    this.#cost = options.defaultRttMs ?? 30;
    this.#decayMs = Math.max(1, options.decayMs ?? 10_000);
    this.#now = options.now ?? performance.now.bind(performance);
    this.#stamp = this.#now();
  }

  /** Marks a request as started; call `finish` with its latency when its response starts. */
  start(): void {
    this.#pending++;
  }

  finish(rttMs: number): void {
    this.#pending = Math.max(0, this.#pending - 1);
    this.observe(rttMs);
  }

  /** Marks a request as ended without a latency sample (reset, cancelled). */
  abandon(): void {
    this.#pending = Math.max(0, this.#pending - 1);
  }

  observe(rttMs: number): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#stamp);
    this.#stamp = now;
    if (rttMs > this.#cost) {
      this.#cost = rttMs;
    } else {
      const w = Math.exp(-elapsed / this.#decayMs);
      this.#cost = this.#cost * w + rttMs * (1 - w);
    }
  }

  /** The current load estimate: decayed cost times (pending + 1). */
  load(): number {
    const elapsed = Math.max(0, this.#now() - this.#stamp);
    const decayed = this.#cost * Math.exp(-elapsed / this.#decayMs);
    return decayed * (this.#pending + 1);
  }
}
