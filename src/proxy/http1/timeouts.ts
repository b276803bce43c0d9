/**
 * The head and idle timeouts of one HTTP/1 connection, counted in the ticks
 * of its listener's sweep (about one a second) instead of a timer per
 * connection. The connection marks activity and incomplete heads; `check`
 * says which timeout, if any, has run out.
 */
export class Http1Timeouts {
  /** Bytes moved since the last sweep. */
  active = true;
  /** Sweep tick at which an incomplete request head was first seen; -1: since the last sweep; 0: none. */
  #headSince = 0;
  #idleSince = 0;

  /** A request head is incomplete (a slow client, until `headComplete`). */
  headIncomplete(): void {
    if (this.#headSince === 0) this.#headSince = -1;
  }

  headComplete(): void {
    this.#headSince = 0;
  }

  /**
   * Advances to sweep `tick`: 'head' when a request head has been incomplete
   * for `headTicks`, 'idle' when the connection has had no request in flight
   * (`busy`), no bytes and no incomplete head for `idleTicks` (0: never).
   */
  check(tick: number, headTicks: number, idleTicks: number, busy: boolean): 'head' | 'idle' | undefined {
    if (this.#headSince === -1) this.#headSince = tick;
    else if (this.#headSince > 0 && tick - this.#headSince >= headTicks) return 'head';
    if (this.active || busy) {
      this.active = false;
      this.#idleSince = tick;
      return undefined;
    }
    // A connection partway through a head is slow, not idle: the head timeout decides.
    if (idleTicks > 0 && this.#headSince === 0 && tick - this.#idleSince >= idleTicks) return 'idle';
    return undefined;
  }
}

const SWEEP_MS = 1000;

/**
 * One timer per listener, running while the listener has connections, that
 * sweeps each of them about once a second with the listener's head and idle
 * timeouts (0: no idle timeout).
 */
export class Http1Sweeper<C extends { sweep(tick: number, headTicks: number, idleTicks: number): void }> {
  readonly #live = new Set<C>();
  readonly #headTicks: number;
  readonly #idleTicks: number;
  #tick = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(headTimeoutMs: number, idleTimeoutMs: number) {
    this.#headTicks = Math.ceil(headTimeoutMs / SWEEP_MS);
    this.#idleTicks = Math.ceil(idleTimeoutMs / SWEEP_MS);
  }

  get connections(): ReadonlySet<C> {
    return this.#live;
  }

  add(connection: C): void {
    this.#live.add(connection);
    if (!this.#timer) {
      this.#timer = setInterval(() => {
        this.#tick++;
        for (const live of this.#live) live.sweep(this.#tick, this.#headTicks, this.#idleTicks);
      }, SWEEP_MS);
      this.#timer.unref();
    }
  }

  delete(connection: C): void {
    this.#live.delete(connection);
    if (this.#live.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
