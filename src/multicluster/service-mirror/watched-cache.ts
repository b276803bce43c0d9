import { setTimeout as sleep } from 'node:timers/promises';
import type { KindRef, Resource } from '../../core/resource.ts';
import { objectKey } from '../../core/resource.ts';
import type { ResourceStore } from '../../core/store.ts';

/** A change seen by a WatchedCache: the object now, or the last one before deletion. */
export interface CacheChange<T extends Resource> {
  type: 'upsert' | 'delete';
  key: string;
  object: T;
}

export interface WatchedCacheOptions<T extends Resource> {
  store: ResourceStore;
  kind: KindRef;
  onChange: (change: CacheChange<T>) => void;
  /** After every complete list, the first and each one after a reconnect. */
  onSynced?: () => void;
  /** When listing or watching fails; the cache keeps its last contents. */
  onDisconnected?: (error: unknown) => void;
  /** Delay before listing again after a failure; doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

/**
 * Keeps a copy of every object of one kind in a store: list, then watch from
 * the list's version; on any failure keep the copy, wait, list again and
 * report only the differences. Unlike a plain watch it tells the owner when
 * the store is unreachable, which is what marks mirrors stale.
 */
export class WatchedCache<T extends Resource> {
  readonly #options: WatchedCacheOptions<T>;
  readonly #items = new Map<string, T>();
  readonly #abort = new AbortController();
  #synced = false;
  #running: Promise<void> | undefined;

  constructor(options: WatchedCacheOptions<T>) {
    this.#options = options;
  }

  /** Whether a complete list has been seen at least once. */
  get synced(): boolean {
    return this.#synced;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#items.get(objectKey({ namespace, name }));
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    const { store, kind } = this.#options;
    const signal = this.#abort.signal;
    const base = this.#options.retryMs ?? 200;
    let delay = base;
    while (!signal.aborted) {
      try {
        const list = await store.list<T>(kind);
        if (signal.aborted) return;
        this.#replace(list.items);
        delay = base;
        this.#synced = true;
        this.#options.onSynced?.();
        for await (const event of store.watch<T>(kind, { resourceVersion: list.resourceVersion, signal })) {
          if (event.type === 'BOOKMARK') continue;
          const key = objectKey(event.object.metadata);
          if (event.type === 'DELETED') {
            this.#items.delete(key);
            this.#options.onChange({ type: 'delete', key, object: event.object });
          } else {
            this.#items.set(key, event.object);
            this.#options.onChange({ type: 'upsert', key, object: event.object });
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        // An expired version is not an outage: list again at once.
        if ((error as { code?: string }).code === 'E_WATCH_EXPIRED') continue;
        this.#options.onDisconnected?.(error);
      }
      if (signal.aborted) return;
      await sleep(delay, undefined, { signal }).catch(() => {});
      delay = Math.min(delay * 2, this.#options.maxRetryMs ?? 5000);
    }
  }

  #replace(items: T[]): void {
    const seen = new Set<string>();
    for (const object of items) {
      const key = objectKey(object.metadata);
      seen.add(key);
      const previous = this.#items.get(key);
      this.#items.set(key, object);
      if (previous?.metadata.resourceVersion !== object.metadata.resourceVersion || !previous) {
        this.#options.onChange({ type: 'upsert', key, object });
      }
    }
    for (const [key, object] of this.#items) {
      if (seen.has(key)) continue;
      this.#items.delete(key);
      this.#options.onChange({ type: 'delete', key, object });
    }
  }
}
