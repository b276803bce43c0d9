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
 * A real store with a switch to cut it off: while cut, list and watch fail
 * and open watches break, as when the connection to a store drops.
 */
export class SeverableStore implements ResourceStore {
  readonly #inner: ResourceStore;
  #cut = false;
  /** While set, watches fail but lists work. */
  refuseWatches = false;
  #breakers = new Set<() => void>();
  lists = 0;
  watches = 0;

  constructor(inner: ResourceStore) {
    this.#inner = inner;
  }

  cut(): void {
    this.#cut = true;
    for (const breaker of this.#breakers) breaker();
  }

  restore(): void {
    this.#cut = false;
  }

  #check(): void {
    if (this.#cut) throw new StraitError('E_UNAVAILABLE', 'the store is unreachable');
  }

  get<T extends Resource = Resource>(ref: ObjectRef): Promise<T | undefined> {
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
    const local = new AbortController();
    const broken = { value: false };
    const breaker = () => {
      broken.value = true;
      local.abort();
    };
    this.#breakers.add(breaker);
    const signal = options.signal ? AbortSignal.any([options.signal, local.signal]) : local.signal;
    try {
      for await (const event of this.#inner.watch<T>(kind, { ...options, signal })) yield event;
      if (broken.value) throw new StraitError('E_UNAVAILABLE', 'the watch connection broke');
    } finally {
      this.#breakers.delete(breaker);
    }
  }

  create<T extends Resource>(object: T): Promise<T> {
    return this.#inner.create(object);
  }
  update<T extends Resource>(object: T): Promise<T> {
    return this.#inner.update(object);
  }
  apply<T extends Resource>(object: T, options: ApplyOptions): Promise<T> {
    return this.#inner.apply(object, options);
  }
  patch<T extends Resource = Resource>(ref: ObjectRef, patch: Record<string, unknown>): Promise<T> {
    return this.#inner.patch<T>(ref, patch);
  }
  updateStatus<T extends Resource>(object: T): Promise<T> {
    return this.#inner.updateStatus(object);
  }
  delete(ref: ObjectRef, options?: DeleteOptions): Promise<boolean> {
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
