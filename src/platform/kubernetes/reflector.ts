import { setTimeout as sleep } from 'node:timers/promises';
import type { KindRef, Resource } from '../../core/resource.ts';
import { objectKey } from '../../core/resource.ts';
import type { LabelSelector } from '../../core/selector.ts';
import { type ResourceStore, WatchExpiredError } from '../../core/store.ts';

/** What a Reflector reports. Every callback runs before the next event is read. */
export interface ReflectorHandler<T extends Resource> {
  /** An object appeared or changed; `previous` is the copy the cache held before. */
  upsert?(object: T, previous: T | undefined): void | Promise<void>;
  /** An object is gone (deleted, or missing from a relist); `object` is its last copy. */
  remove?(object: T): void | Promise<void>;
  /** The cache matches a complete list (after the first list and after each relist). */
  synced?(): void;
  /** Listing or watching failed; the cache keeps its contents and the reflector retries. */
  failed?(error: unknown): void;
}

export interface ReflectorOptions<T extends Resource> {
  store: ResourceStore;
  kind: KindRef;
  namespace?: string;
  labelSelector?: LabelSelector | string;
  handler: ReflectorHandler<T>;
  /** First retry delay after a failure; doubles (with jitter) up to `maxBackoffMs`. Default 200 ms. */
  backoffMs?: number;
  /** Default 10 s. */
  maxBackoffMs?: number;
}

/**
 * A local copy of one kind kept current by list-then-watch: watch from the
 * list's resourceVersion, list again when the version expires (reporting
 * only the differences), and retry every other failure with capped,
 * jittered exponential backoff while keeping the last known contents.
 */
export class Reflector<T extends Resource> {
  readonly #options: ReflectorOptions<T>;
  readonly #items = new Map<string, T>();
  readonly #abort = new AbortController();
  readonly #synced = Promise.withResolvers<void>();
  #running: Promise<void> | undefined;

  constructor(options: ReflectorOptions<T>) {
    this.#options = options;
    // Stopping before the first sync must not leave an unhandled rejection behind.
    this.#synced.promise.catch(() => {});
  }

  /** Starts listing and watching; safe to call more than once. */
  start(): this {
    this.#running ??= this.#run();
    return this;
  }

  /** Resolves after the first complete list; rejects if the reflector stops first. */
  hasSynced(): Promise<void> {
    return this.#synced.promise;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#items.get(objectKey({ namespace, name }));
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#synced.reject(new Error('reflector stopped before its first list'));
    await this.#running;
  }

  async #run(): Promise<void> {
    const { store, kind, handler } = this.#options;
    const signal = this.#abort.signal;
    const selection = {
      ...(this.#options.namespace ? { namespace: this.#options.namespace } : {}),
      ...(this.#options.labelSelector ? { labelSelector: this.#options.labelSelector } : {}),
    };
    let failures = 0;
    while (!signal.aborted) {
      try {
        const listed = await store.list<T>(kind, selection);
        if (signal.aborted) return;
        await this.#replace(listed.items);
        failures = 0;
        handler.synced?.();
        this.#synced.resolve();
        const events = store.watch<T>(kind, {
          ...selection,
          resourceVersion: listed.resourceVersion,
          signal,
        });
        for await (const event of events) {
          const key = objectKey(event.object.metadata);
          const previous = this.#items.get(key);
          if (event.type === 'DELETED') {
            this.#items.delete(key);
            await handler.remove?.(event.object);
          } else if (event.type !== 'BOOKMARK') {
            this.#items.set(key, event.object);
            await handler.upsert?.(event.object, previous);
          }
        }
        // The watch ended without an error only because `signal` aborted.
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof WatchExpiredError) continue;
        failures++;
        handler.failed?.(error);
        const cap = Math.min(
          this.#options.maxBackoffMs ?? 10_000,
          (this.#options.backoffMs ?? 200) * 2 ** failures,
        );
        await sleep(cap / 2 + (Math.random() * cap) / 2, undefined, { signal }).catch(() => {});
      }
    }
  }

  async #replace(items: T[]): Promise<void> {
    const seen = new Set<string>();
    for (const object of items) {
      const key = objectKey(object.metadata);
      seen.add(key);
      const previous = this.#items.get(key);
      this.#items.set(key, object);
      if (previous?.metadata.resourceVersion !== object.metadata.resourceVersion) {
        await this.#options.handler.upsert?.(object, previous);
      }
    }
    for (const [key, object] of this.#items) {
      if (seen.has(key)) continue;
      this.#items.delete(key);
      await this.#options.handler.remove?.(object);
    }
  }
}
