import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  /** First delay (default 100 ms). */
  initialMs?: number;
  /** Largest delay (default 30 s). */
  maxMs?: number;
  /** Share of each delay chosen at random, so peers do not retry in step (default 0.2). */
  jitter?: number;
}

/** Exponentially growing delays: initial, doubled each time, capped; reset after a success. */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 100;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#jitter = options.jitter ?? 0.2;
  }

  /** The next delay, growing with each call. */
  next(): number {
    const base = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#attempt, 40));
    this.#attempt++;
    return Math.round(base * (1 - this.#jitter * Math.random()));
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Waits `ms`, or less if `signal` aborts; never rejects. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // aborted: the caller checks its signal
  }
}
