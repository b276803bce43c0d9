import { StraitError } from '../../core/errors.ts';
import type { KindRef, ObjectRef, Resource } from '../../core/resource.ts';
import type {
  ApplyOptions,
  DeleteOptions,
  ListOptions,
  ListResult,
  ResourceStore,
  WatchEvent,
  WatchOptions,
} from '../../core/store.ts';

/**
 * A real store reached over a connection the test can cut: while cut, every
 * call fails as an unreachable server would and open watches end with
 * "the watch connection broke"; restore() serves the same store again.
 */
export class SeverableStore implements ResourceStore {
  readonly #inner: ResourceStore;
  readonly #connections = new Set<AbortController>();
  #cut = false;
  /** While set, watches fail but lists work. */
  refuseWatches = false;
  lists = 0;
  watches = 0;

  constructor(inner: ResourceStore) {
    this.#inner = inner;
  }

  cut(): void {
    this.#cut = true;
    for (const connection of this.#connections) connection.abort();
  }

  restore(): void {
    this.#cut = false;
  }

  #check(): void {
    if (this.#cut) throw new StraitError('E_UNAVAILABLE', 'the store is unreachable');
  }

  async get<T extends Resource = Resource>(ref: ObjectRef): Promise<T | undefined> {
    this.#check();
    return this.#inner.get<T>(ref);
  }

  async list<T extends Resource = Resource>(kind: KindRef, options?: ListOptions): Promise<ListResult<T>> {
    this.lists++;
    this.#check();
    return this.#inner.list<T>(kind, options);
  }

  async *watch<T extends Resource = Resource>(
    kind: KindRef,
    options: WatchOptions = {},
  ): AsyncIterable<WatchEvent<T>> {
    this.watches++;
    this.#check();
    if (this.refuseWatches) throw new StraitError('E_UNAVAILABLE', 'watches are refused');
    const connection = new AbortController();
    this.#connections.add(connection);
    const signal = options.signal ? AbortSignal.any([options.signal, connection.signal]) : connection.signal;
    try {
      for await (const event of this.#inner.watch<T>(kind, { ...options, signal })) yield event;
    } catch (error) {
      if (!connection.signal.aborted) throw error;
    } finally {
      this.#connections.delete(connection);
    }
    if (connection.signal.aborted) throw new StraitError('E_UNAVAILABLE', 'the watch connection broke');
  }

  async create<T extends Resource>(object: T): Promise<T> {
    this.#check();
    return this.#inner.create(object);
  }
  async update<T extends Resource>(object: T): Promise<T> {
    this.#check();
    return this.#inner.update(object);
  }
  async apply<T extends Resource>(object: T, options: ApplyOptions): Promise<T> {
    this.#check();
    return this.#inner.apply(object, options);
  }
  async patch<T extends Resource = Resource>(ref: ObjectRef, patch: Record<string, unknown>): Promise<T> {
    this.#check();
    return this.#inner.patch<T>(ref, patch);
  }
  async updateStatus<T extends Resource>(object: T): Promise<T> {
    this.#check();
    return this.#inner.updateStatus(object);
  }
  async delete(ref: ObjectRef, options?: DeleteOptions): Promise<boolean> {
    this.#check();
    return this.#inner.delete(ref, options);
  }
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function configMap(name: string, data: Record<string, string> = {}, namespace = 'default'): Resource {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}
