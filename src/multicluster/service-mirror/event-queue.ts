import { describeError } from '../../core/errors.ts';

/** What the queue needs of an event: a name for logs and a retry count. */
export interface QueueEvent {
  type: string;
  attempts: number;
}

export interface EventQueueOptions<E extends QueueEvent> {
  handle: (event: E) => Promise<void>;
  /** Work starts once this holds (checked again every 20 ms until it does). */
  ready: () => boolean;
  /** Events handled at once; never two with the same key. */
  concurrency: number;
  /** Delay before the first retry of a failed event, doubled each time up to 5 s. */
  retryMs: number;
  maxAttempts: number;
  /** Called whenever the queue runs empty. */
  onDrained?: () => void;
  log: (line: string) => void;
}

/**
 * A queue of named events keyed by what they concern. One pending event per
 * key: a newer event for a queued key replaces its name and keeps its place,
 * which is enough because handlers read the current state rather than the
 * event's payload.
 */
export class EventQueue<E extends QueueEvent> {
  readonly #options: EventQueueOptions<E>;
  readonly #pending = new Map<string, E>();
  readonly #inFlight = new Set<string>();
  readonly #sleepers = new Set<() => void>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #workers: Promise<void>[] = [];
  #stopped = false;

  constructor(options: EventQueueOptions<E>) {
    this.#options = options;
  }

  start(): void {
    for (let i = 0; i < this.#options.concurrency; i++) this.#workers.push(this.#work());
  }

  /** Stops taking events; resolves when the ones being handled are done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.wake();
    await Promise.all(this.#workers);
  }

  enqueue(key: string, event: E): void {
    if (this.#stopped) return;
    const queued = this.#pending.get(key);
    if (queued) queued.type = event.type;
    else this.#pending.set(key, event);
    this.wake();
  }

  /** Lets idle workers look again (after `ready` may have changed). */
  wake(): void {
    const sleepers = [...this.#sleepers];
    this.#sleepers.clear();
    for (const resolve of sleepers) resolve();
  }

  async #work(): Promise<void> {
    while (!this.#stopped) {
      const next = this.#options.ready() ? this.#take() : undefined;
      if (!next) {
        await new Promise<void>((resolve) => {
          this.#sleepers.add(resolve);
          if (!this.#options.ready()) setTimeout(resolve, 20).unref();
        });
        continue;
      }
      const [key, event] = next;
      this.#inFlight.add(key);
      try {
        await this.#options.handle(event);
      } catch (error) {
        this.#retry(key, event, error);
      } finally {
        this.#inFlight.delete(key);
        if (this.#pending.has(key)) this.wake();
      }
      if (this.#pending.size === 0 && this.#inFlight.size === 0) this.#options.onDrained?.();
    }
  }

  #take(): [string, E] | undefined {
    for (const entry of this.#pending) {
      if (this.#inFlight.has(entry[0])) continue;
      this.#pending.delete(entry[0]);
      return entry;
    }
    return undefined;
  }

  #retry(key: string, event: E, error: unknown): void {
    event.attempts++;
    if (event.attempts >= this.#options.maxAttempts || this.#stopped) {
      this.#options.log(
        `giving up on ${event.type} ${key} after ${event.attempts} attempts: ${describeError(error)}`,
      );
      return;
    }
    const delay = Math.min(this.#options.retryMs * 2 ** (event.attempts - 1), 5000);
    this.#options.log(`${event.type} ${key} failed (${describeError(error)}); retrying in ${delay} ms`);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#pending.has(key)) this.enqueue(key, event);
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }
}
