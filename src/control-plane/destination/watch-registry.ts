/**
 * Shared watches: one computed value per key, whatever the number of
 * streams that follow it. Each entry names the dependency keys it reads
 * (`svc:shop/web`, `ns:shop`); `invalidate` marks the entries behind those
 * keys, and one recompute per entry runs on the next turn of the event loop,
 * so a burst of resource events costs one recompute and one push.
 */
export class WatchRegistry<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #byDependency = new Map<string, Set<Entry<T>>>();
  readonly #dirty = new Set<Entry<T>>();
  #scheduled = false;

  /**
   * Follows the value under `key`, creating it with `compute` on first use.
   * `compute` returns the value and the dependency keys it read.
   */
  subscribe(key: string, compute: () => Computed<T>, equals: (a: T, b: T) => boolean): Subscription<T> {
    let entry = this.#entries.get(key);
    if (!entry) {
      const first = compute();
      entry = { key, compute, equals, value: first.value, dependencies: [], refs: 0, waiters: new Set() };
      this.#setDependencies(entry, first.dependencies);
      this.#entries.set(key, entry);
    }
    entry.refs++;
    const current = entry;
    let open = true;
    return {
      get value() {
        return current.value;
      },
      changed: (since, signal) => waitForChange(current, since, signal),
      close: () => {
        if (!open) return;
        open = false;
        if (--current.refs === 0) this.#drop(current);
      },
    };
  }

  /** Marks every entry that reads one of `dependencies` for recompute. */
  invalidate(dependencies: Iterable<string>): void {
    for (const dependency of dependencies) {
      for (const entry of this.#byDependency.get(dependency) ?? []) this.#dirty.add(entry);
    }
    if (this.#dirty.size > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Recomputes every entry now (for instance after the inputs were replaced wholesale). */
  invalidateAll(): void {
    for (const entry of this.#entries.values()) this.#dirty.add(entry);
    this.#flush();
  }

  /** Number of distinct watched keys. */
  get size(): number {
    return this.#entries.size;
  }

  #flush(): void {
    this.#scheduled = false;
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const entry of dirty) {
      if (entry.refs === 0) continue;
      const next = entry.compute();
      this.#setDependencies(entry, next.dependencies);
      if (entry.equals(entry.value, next.value)) continue;
      entry.value = next.value;
      const waiters = [...entry.waiters];
      entry.waiters.clear();
      for (const wake of waiters) wake();
    }
  }

  #setDependencies(entry: Entry<T>, dependencies: string[]): void {
    for (const dependency of entry.dependencies) {
      const entries = this.#byDependency.get(dependency);
      entries?.delete(entry);
      if (entries?.size === 0) this.#byDependency.delete(dependency);
    }
    entry.dependencies = dependencies;
    for (const dependency of dependencies) {
      let entries = this.#byDependency.get(dependency);
      if (!entries) {
        entries = new Set();
        this.#byDependency.set(dependency, entries);
      }
      entries.add(entry);
    }
  }

  #drop(entry: Entry<T>): void {
    this.#setDependencies(entry, []);
    this.#entries.delete(entry.key);
    this.#dirty.delete(entry);
  }
}

/** A computed value and the dependency keys it was computed from. */
export interface Computed<T> {
  value: T;
  dependencies: string[];
}

export interface Subscription<T> {
  /** The latest value. */
  readonly value: T;
  /** Resolves once the value is no longer `since`, or when `signal` aborts. */
  changed(since: T, signal: AbortSignal): Promise<void>;
  close(): void;
}

/**
 * Yields the subscription's value, then each new value, until `signal`
 * aborts; closes the subscription when the consumer stops.
 */
export async function* valuesOf<T>(subscription: Subscription<T>, signal: AbortSignal): AsyncGenerator<T> {
  try {
    let delivered = subscription.value;
    yield delivered;
    while (!signal.aborted) {
      await subscription.changed(delivered, signal);
      const next = subscription.value;
      if (signal.aborted || next === delivered) continue;
      yield next;
      delivered = next;
    }
  } finally {
    subscription.close();
  }
}

interface Entry<T> {
  key: string;
  compute: () => Computed<T>;
  equals: (a: T, b: T) => boolean;
  value: T;
  dependencies: string[];
  refs: number;
  waiters: Set<() => void>;
}

function waitForChange<T>(entry: Entry<T>, since: T, signal: AbortSignal): Promise<void> {
  if (entry.value !== since || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      entry.waiters.delete(done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    entry.waiters.add(done);
    signal.addEventListener('abort', done, { once: true });
  });
}
