import type { KindRef, Resource } from '../../../core/resource.ts';
import { objectKey } from '../../../core/resource.ts';
import type { ResourceStore } from '../../../core/store.ts';

/**
 * Keeps every object of one kind in memory: lists, then watches from the
 * list's version; when the watch ends or its version is too old, lists again
 * after a short pause. `onChange` is called with each changed object.
 */
export class ObjectCache<T extends Resource = Resource> {
  readonly objects = new Map<string, T>();
  readonly #store: ResourceStore;
  readonly #kind: KindRef;
  readonly #onChange: (object: T) => void;
  readonly #signal: AbortSignal;
  #synced!: Promise<void>;

  constructor(store: ResourceStore, kind: KindRef, onChange: (object: T) => void, signal: AbortSignal) {
    this.#store = store;
    this.#kind = kind;
    this.#onChange = onChange;
    this.#signal = signal;
  }

  /** Starts the loop; resolves once the first list is in. */
  start(log: (line: string) => void): Promise<void> {
    let markSynced: () => void = () => {};
    this.#synced = new Promise((resolve) => {
      markSynced = resolve;
    });
    void this.#run(markSynced, log);
    return this.#synced;
  }

  async #run(markSynced: () => void, log: (line: string) => void): Promise<void> {
    while (!this.#signal.aborted) {
      try {
        const list = await this.#store.list<T>(this.#kind);
        const seen = new Set<string>();
        for (const object of list.items) {
          const key = objectKey(object.metadata);
          seen.add(key);
          const previous = this.objects.get(key);
          this.objects.set(key, object);
          if (previous?.metadata.resourceVersion !== object.metadata.resourceVersion) this.#onChange(object);
        }
        for (const [key, object] of this.objects) {
          if (!seen.has(key)) {
            this.objects.delete(key);
            this.#onChange(object);
          }
        }
        markSynced();
        for await (const event of this.#store.watch<T>(this.#kind, {
          resourceVersion: list.resourceVersion,
          signal: this.#signal,
        })) {
          if (event.type === 'BOOKMARK') continue;
          const key = objectKey(event.object.metadata);
          if (event.type === 'DELETED') this.objects.delete(key);
          else this.objects.set(key, event.object);
          this.#onChange(event.object);
        }
      } catch (error) {
        if (this.#signal.aborted) return;
        log(`watch of ${this.#kind.kind} restarts: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
