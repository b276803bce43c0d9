import { StraitError } from '../../core/errors.ts';

export interface WorkQueueOptions {
  /** Delay before the first retry of a failed key (default 5 ms); doubles per failure. */
  baseDelayMs?: number;
  /** Largest retry delay (default 60 s). */
  maxDelayMs?: number;
}

/**
 * Keys waiting to be processed, as in client-go's rate-limited work queue:
 * a key is queued at most once however often it is added; a key being
 * processed is never handed out again until `done`, and if it was added
 * meanwhile it is queued again then; failed keys come back after a per-key
 * exponential delay until `forget`.
 */
export class WorkQueue<K = string> {
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #queue: K[] = [];
  readonly #queued = new Set<K>();
  readonly #processing = new Set<K>();
  /** Keys added while being processed: queued again at `done`. */
  readonly #dirty = new Set<K>();
  readonly #failures = new Map<K, number>();
  readonly #timers = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  readonly #waiters: ((key: K | undefined) => void)[] = [];
  #shutDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 5;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
  }

  /** Keys waiting (not counting ones being processed or delayed). */
  get length(): number {
    return this.#queue.length;
  }

  get isShutDown(): boolean {
    return this.#shutDown;
  }

  add(key: K): void {
    if (this.#shutDown) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queued.add(key);
    this.#queue.push(key);
  }

  /** Adds `key` after `delayMs`; an earlier pending add of the same key wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.#shutDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    this.#timers.set(key, { at, timer });
  }

  /** Adds `key` after its backoff delay, which doubles with each call until `forget`. */
  addRateLimited(key: K): void {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.addAfter(key, Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.min(failures, 40)));
  }

  /** How many times `key` was added rate-limited since it was last forgotten. */
  retries(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Clears the failure count of `key` (it succeeded, or it is given up). */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  /** The next key to process, waiting for one; undefined once the queue is shut down. */
  async get(): Promise<K | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#queued.delete(key);
      this.#processing.add(key);
      return key;
    }
    if (this.#shutDown) return undefined;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` processed; if it was added meanwhile, queues it again. */
  done(key: K): void {
    if (!this.#processing.delete(key)) {
      throw new StraitError(
        'E_QUEUE',
        `work queue: done(${String(key)}) for a key that is not being processed`,
      );
    }
    if (this.#dirty.delete(key)) this.add(key);
  }

  /** Stops handing out keys: waiting `get` calls resolve undefined, pending delays are dropped. */
  shutDown(): void {
    this.#shutDown = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}
