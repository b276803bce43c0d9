import type { Resource } from '../../core/resource.ts';
import { keyOf } from './cache.ts';
import type { SharedInformer } from './informer.ts';
import type { WorkQueueOptions } from './work-queue.ts';
import { WorkQueue } from './work-queue.ts';

/** What a reconcile may ask for besides success: to be run again later. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface ControllerOptions extends WorkQueueOptions {
  /** For error reports: `service-mirror`, `endpoints`. */
  name: string;
  /**
   * Brings the world in line with the desired state of `key`. Throwing
   * retries the key with backoff; resolving forgets its failures. Resolve
   * with a ReconcileResult to have the key run again later.
   */
  reconcile(key: string, signal: AbortSignal): Promise<unknown>;
  /** Keys processed at once (default 1); one key is never processed twice at the same time. */
  workers?: number;
  /** Failures of a key before it is dropped until its next change (default 15). */
  maxRetries?: number;
  /** Every key of every watched object is queued again this often (default: never). */
  resyncMs?: number;
  /** Told about every failed reconcile (default: a process warning). */
  onError?(key: string, error: unknown, willRetry: boolean): void;
}

/** Maps an object that changed to the keys to reconcile (default: the object's own key). */
export type KeyMapper<T extends Resource> = (object: T) => readonly string[] | string | undefined;

/**
 * Informers feed a work queue of keys; workers call `reconcile(key)` for
 * each. The usual controller loop: level-based, retried with backoff,
 * started only once every informer has synced.
 */
export class Controller {
  readonly queue: WorkQueue<string>;
  readonly #options: ControllerOptions;
  readonly #informers = new Set<SharedInformer<Resource>>();
  /** Queues the keys of every object the watched informers hold. */
  readonly #resyncs: (() => void)[] = [];

  constructor(options: ControllerOptions) {
    this.#options = options;
    this.queue = new WorkQueue<string>(options);
  }

  /** Enqueues the keys `map` gives for every add, update and delete the informer sees. */
  watch<T extends Resource>(informer: SharedInformer<T>, map: KeyMapper<T> = keyOf): () => void {
    this.#informers.add(informer as unknown as SharedInformer<Resource>);
    const enqueue = (object: T) => {
      const keys = map(object);
      if (keys === undefined) return;
      for (const key of typeof keys === 'string' ? [keys] : keys) this.queue.add(key);
    };
    this.#resyncs.push(() => {
      for (const object of informer.cache.list()) enqueue(object);
    });
    return informer.addEventHandler({
      onAdd: enqueue,
      onUpdate: (previous, current) => {
        enqueue(current);
        const before = map(previous);
        const after = map(current);
        if (JSON.stringify(before) !== JSON.stringify(after)) enqueue(previous);
      },
      onDelete: enqueue,
    });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /**
   * Starts the informers, waits until they have synced, then processes keys
   * until `signal` aborts. Resolves once every worker has finished its key.
   * The informers keep running (others may share them): stop them yourself.
   */
  async run(signal: AbortSignal): Promise<void> {
    for (const informer of this.#informers) informer.start();
    for (const informer of this.#informers) {
      if (!(await informer.waitForSync(signal))) break;
    }
    const stop = () => this.queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    if (signal.aborted) stop();
    const { resyncMs } = this.#options;
    const resync = resyncMs
      ? setInterval(() => {
          for (const queueAll of this.#resyncs) queueAll();
        }, resyncMs)
      : undefined;
    try {
      const workers = Array.from({ length: this.#options.workers ?? 1 }, () => this.#work(signal));
      await Promise.all(workers);
    } finally {
      clearInterval(resync);
    }
  }

  async #work(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (signal.aborted) {
        this.queue.done(key);
        return;
      }
      try {
        const result = (await this.#options.reconcile(key, signal)) as ReconcileResult | undefined;
        this.queue.forget(key);
        if (typeof result?.requeueAfterMs === 'number') this.queue.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        const willRetry = this.queue.retries(key) < (this.#options.maxRetries ?? 15);
        if (willRetry) this.queue.addRateLimited(key);
        else this.queue.forget(key);
        this.#report(key, error, willRetry);
      } finally {
        this.queue.done(key);
      }
    }
  }

  #report(key: string, error: unknown, willRetry: boolean): void {
    if (this.#options.onError) this.#options.onError(key, error, willRetry);
    else {
      const next = willRetry ? 'will retry' : 'giving up until it changes';
      process.emitWarning(`${this.#options.name}: reconcile ${key} failed (${next}): ${String(error)}`);
    }
  }
}
