import { StraitError } from '../../../src/core/errors.ts';
import type { KindRef, ObjectRef, Resource } from '../../../src/core/resource.ts';
import type {
  ApplyOptions,
  DeleteOptions,
  ListOptions,
  ListResult,
  ResourceStore,
  WatchEvent,
  WatchOptions,
} from '../../../src/core/store.ts';

/**
 * A real store reached over a connection that the test can cut: while cut,
 * every call fails as an unreachable API server would, and open watches end
 * with that error. Restoring the connection serves the same store again.
 */
export class SeverableStore implements ResourceStore {
  readonly #inner: ResourceStore;
  readonly #connections = new Set<AbortController>();
  #down = false;

  constructor(inner: ResourceStore) {
    this.#inner = inner;
  }

  /** Cuts the connection: open watches fail, and so does every call until restore(). */
  cut(): void {
    this.#down = true;
    for (const connection of this.#connections) connection.abort();
  }

  restore(): void {
    this.#down = false;
  }

  #check(): void {
    if (this.#down)
      throw new StraitError('E_LINK_UNREACHABLE', 'connect ECONNREFUSED: target API server is down');
  }

  async get<T extends Resource = Resource>(ref: ObjectRef): Promise<T | undefined> {
    this.#check();
    return this.#inner.get<T>(ref);
  }
  async list<T extends Resource = Resource>(kind: KindRef, options?: ListOptions): Promise<ListResult<T>> {
    this.#check();
    return this.#inner.list<T>(kind, options);
  }
  async *watch<T extends Resource = Resource>(
    kind: KindRef,
    options: WatchOptions = {},
  ): AsyncIterable<WatchEvent<T>> {
    this.#check();
    const connection = new AbortController();
    this.#connections.add(connection);
    const signal = options.signal ? AbortSignal.any([connection.signal, options.signal]) : connection.signal;
    try {
      for await (const event of this.#inner.watch<T>(kind, { ...options, signal })) yield event;
    } catch (error) {
      if (!connection.signal.aborted) throw error;
    } finally {
      this.#connections.delete(connection);
    }
    if (connection.signal.aborted) this.#check();
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
