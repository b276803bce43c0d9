import { StraitError } from '../../core/errors.ts';
import type { Resource } from '../../core/resource.ts';
import { objectKey } from '../../core/resource.ts';

/** Values an object is filed under in one index (for example its namespace, or its service name). */
export type IndexFunction<T extends Resource> = (object: T) => readonly string[];

/** Index of every cache: objects by namespace. */
export const NAMESPACE_INDEX = 'namespace';

/** The key of an object in caches and work queues: `namespace/name`, or `name` when cluster-scoped. */
export function keyOf(object: Resource): string {
  return objectKey(object.metadata);
}

/** Splits a key back into namespace and name. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash === -1 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Read access to an informer's objects. Objects are shared: treat them as read-only. */
export interface CacheReader<T extends Resource> {
  get(key: string): T | undefined;
  list(): T[];
  keys(): string[];
  /** Objects filed under `value` in the index `name`. */
  byIndex(name: string, value: string): T[];
  readonly size: number;
}

/** Objects by key, with secondary indexes kept up to date on every change. */
export class Cache<T extends Resource> implements CacheReader<T> {
  readonly #items = new Map<string, T>();
  readonly #indexers: Map<string, IndexFunction<T>>;
  readonly #indexes = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunction<T>> = {}) {
    this.#indexers = new Map(Object.entries(indexers));
    this.#indexers.set(NAMESPACE_INDEX, (o) => (o.metadata.namespace ? [o.metadata.namespace] : []));
    for (const name of this.#indexers.keys()) this.#indexes.set(name, new Map());
  }

  get size(): number {
    return this.#items.size;
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  keys(): string[] {
    return [...this.#items.keys()];
  }

  byIndex(name: string, value: string): T[] {
    const index = this.#indexes.get(name);
    if (!index) throw new StraitError('E_NO_INDEX', `the cache has no index named ${name}`);
    const keys = index.get(value) ?? new Set<string>();
    return [...keys].map((key) => this.#items.get(key) as T);
  }

  /** Stores `object`; returns the object it replaced. */
  set(object: T): T | undefined {
    const key = keyOf(object);
    const previous = this.#items.get(key);
    if (previous) this.#unindex(key, previous);
    this.#items.set(key, object);
    this.#index(key, object);
    return previous;
  }

  /** Removes the object under `key`; returns it. */
  delete(key: string): T | undefined {
    const previous = this.#items.get(key);
    if (!previous) return undefined;
    this.#items.delete(key);
    this.#unindex(key, previous);
    return previous;
  }

  #index(key: string, object: T): void {
    for (const [name, indexer] of this.#indexers) {
      const index = this.#indexes.get(name) as Map<string, Set<string>>;
      for (const value of indexer(object)) {
        let keys = index.get(value);
        if (!keys) {
          keys = new Set();
          index.set(value, keys);
        }
        keys.add(key);
      }
    }
  }

  #unindex(key: string, object: T): void {
    for (const [name, indexer] of this.#indexers) {
      const index = this.#indexes.get(name) as Map<string, Set<string>>;
      for (const value of indexer(object)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }
}
