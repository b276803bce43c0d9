import { setTimeout as sleep } from 'node:timers/promises';
import { type KindRef, objectKey, type Resource } from '../../core/resource.ts';
import type { ResourceStore } from '../../core/store.ts';

/**
 * Every object of one kind, kept current: list, then watch from the list's
 * version; after any failure wait, list again and report the differences.
 * `onChange` gets the object now (undefined once deleted) and before.
 */
export class KindCache<T extends Resource> {
  readonly #store: ResourceStore;
  readonly #kind: KindRef;
  readonly #onChange: (now: T | undefined, before: T | undefined) => void;
  readonly #onError: (error: unknown) => void;
  readonly #items = new Map<string, T>();
  #synced!: Promise<void>;
  #markSynced!: () => void;
  #running: Promise<void> | undefined;

  constructor(
    store: ResourceStore,
    kind: KindRef,
    onChange: (now: T | undefined, before: T | undefined) => void,
    onError: (error: unknown) => void = () => {},
  ) {
    this.#store = store;
    this.#kind = kind;
    this.#onChange = onChange;
    this.#onError = onError;
    this.#synced = new Promise((resolve) => {
      this.#markSynced = resolve;
    });
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#items.get(objectKey({ namespace, name }));
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  /** Resolves after the first complete list. */
  get synced(): Promise<void> {
    return this.#synced;
  }

  start(signal: AbortSignal): void {
    this.#running ??= this.#run(signal);
  }

  /** Resolves when the loop has ended after its signal aborted. */
  async stopped(): Promise<void> {
    await this.#running;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let delay = 100;
    while (!signal.aborted) {
      try {
        const list = await this.#store.list<T>(this.#kind);
        this.#replace(list.items);
        this.#markSynced();
        delay = 100;
        for await (const event of this.#store.watch<T>(this.#kind, {
          resourceVersion: list.resourceVersion,
          signal,
        })) {
          if (event.type === 'BOOKMARK') continue;
          const key = objectKey(event.object.metadata);
          const before = this.#items.get(key);
          if (event.type === 'DELETED') this.#items.delete(key);
          else this.#items.set(key, event.object);
          this.#onChange(event.type === 'DELETED' ? undefined : event.object, before);
        }
      } catch (error) {
        if (signal.aborted) return;
        this.#onError(error);
      }
      if (signal.aborted) return;
      await sleep(delay, undefined, { signal }).catch(() => {});
      delay = Math.min(delay * 2, 5000);
    }
  }

  #replace(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item.metadata);
      seen.add(key);
      const before = this.#items.get(key);
      this.#items.set(key, item);
      if (before?.metadata.resourceVersion !== item.metadata.resourceVersion) this.#onChange(item, before);
    }
    for (const [key, before] of [...this.#items]) {
      if (seen.has(key)) continue;
      this.#items.delete(key);
      this.#onChange(undefined, before);
    }
  }
}
