import { isStraitError } from '../../core/errors.ts';
import type { KindRef, Resource } from '../../core/resource.ts';
import { describeRef } from '../../core/resource.ts';
import type { LabelSelector } from '../../core/selector.ts';
import type { ResourceStore, WatchEvent } from '../../core/store.ts';
import type { BackoffOptions } from './backoff.ts';
import { Backoff, pause } from './backoff.ts';
import type { CacheReader, IndexFunction } from './cache.ts';
import { Cache, keyOf } from './cache.ts';

/** A watch that ends sooner than this without an event counts as a failure. */
const QUICK_END_MS = 1000;
/** Watches that fail in a row before the informer lists again instead of resuming. */
const RELIST_AFTER_FAILURES = 3;

/** What an informer tells its handlers. Objects are the cache's own: do not change them. */
export interface ResourceEventHandlers<T extends Resource> {
  onAdd?(object: T): void;
  onUpdate?(previous: T, current: T): void;
  /** With the last state the informer saw. */
  onDelete?(object: T): void;
}

export interface InformerOptions<T extends Resource> {
  namespace?: string;
  labelSelector?: LabelSelector | string;
  /** Extra cache indexes; `namespace` is always there. */
  indexers?: Record<string, IndexFunction<T>>;
  /** Delays between attempts after list or watch failures. */
  backoff?: BackoffOptions;
  /** Told about every failure the informer recovers from (default: a process warning). */
  onError?: (error: unknown) => void;
}

/**
 * Keeps a cache of one kind in step with a store and tells handlers about
 * every change: it lists, then watches from the list's version. When the
 * watch breaks it resumes from the last version seen; when that version is
 * too old (or the watch cannot resume) it lists again and tells handlers only
 * the differences. Failures are reported and retried with backoff; it never
 * stops on its own.
 */
export class SharedInformer<T extends Resource = Resource> {
  readonly #store: ResourceStore;
  readonly #kind: KindRef;
  readonly #options: InformerOptions<T>;
  readonly #cache: Cache<T>;
  readonly #handlers = new Set<ResourceEventHandlers<T>>();
  readonly #stopping = new AbortController();
  readonly #synced: Promise<void>;
  #markSynced!: () => void;
  #hasSynced = false;
  #running: Promise<void> | undefined;
  #version = '';

  constructor(store: ResourceStore, kind: KindRef, options: InformerOptions<T> = {}) {
    this.#store = store;
    this.#kind = kind;
    this.#options = options;
    this.#cache = new Cache<T>(options.indexers);
    this.#synced = new Promise((resolve) => {
      this.#markSynced = resolve;
    });
  }

  get kind(): KindRef {
    return this.#kind;
  }

  get cache(): CacheReader<T> {
    return this.#cache;
  }

  /** Whether the cache holds a complete list (from the first list on). */
  hasSynced(): boolean {
    return this.#hasSynced;
  }

  /** The last resource version the cache reflects. */
  get lastSyncResourceVersion(): string {
    return this.#version;
  }

  /**
   * Adds handlers; a handler added after objects are cached is told about each
   * of them as added. Returns a function that removes the handlers.
   */
  addEventHandler(handlers: ResourceEventHandlers<T>): () => void {
    this.#handlers.add(handlers);
    for (const object of this.#cache.list()) this.#call('onAdd', () => handlers.onAdd?.(object));
    return () => this.#handlers.delete(handlers);
  }

  /** Starts listing and watching (once; later calls do nothing). */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Resolves when the cache has synced, or when `signal` aborts or the informer stops. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#hasSynced) return true;
    const abandon = new AbortController();
    const stopped = new Promise<void>((resolve) => {
      const options = { once: true, signal: abandon.signal };
      signal?.addEventListener('abort', () => resolve(), options);
      this.#stopping.signal.addEventListener('abort', () => resolve(), options);
    });
    try {
      await Promise.race([this.#synced, stopped]);
    } finally {
      abandon.abort();
    }
    return this.#hasSynced;
  }

  /** Stops watching; resolves when the informer has stopped. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    const backoff = new Backoff(this.#options.backoff);
    while (!signal.aborted) {
      try {
        await this.#list();
        backoff.reset();
      } catch (error) {
        this.#report(error, 'list');
        await pause(backoff.next(), signal);
        continue;
      }
      // Watch from the last version until it cannot resume, or keeps failing.
      let failures = 0;
      while (!signal.aborted && failures < RELIST_AFTER_FAILURES) {
        let delivered = 0;
        const started = Date.now();
        try {
          const options = {
            ...this.#selection(),
            resourceVersion: this.#version,
            signal,
            allowBookmarks: true,
          };
          for await (const event of this.#store.watch<T>(this.#kind, options)) {
            this.#apply(event);
            delivered++;
            failures = 0;
            backoff.reset();
          }
          if (signal.aborted) return;
          // A watch that ends at once, empty, is a server turning us away: slow down. One that
          // ran its course (servers end watches after a while) is simply renewed.
          if (delivered === 0 && Date.now() - started < QUICK_END_MS) await pause(backoff.next(), signal);
          else backoff.reset();
        } catch (error) {
          if (signal.aborted) return;
          if (isStraitError(error) && error.code === 'E_WATCH_EXPIRED') break;
          this.#report(error, 'watch');
          failures++;
          await pause(backoff.next(), signal);
          if (isStraitError(error) && error.code === 'E_INVALID') break;
        }
      }
    }
  }

  /** Lists, and tells handlers how the list differs from the cache. */
  async #list(): Promise<void> {
    const { items, resourceVersion } = await this.#store.list<T>(this.#kind, this.#selection());
    const seen = new Set<string>();
    for (const object of items) {
      const key = keyOf(object);
      seen.add(key);
      const previous = this.#cache.get(key);
      if (previous && previous.metadata.resourceVersion === object.metadata.resourceVersion) continue;
      this.#cache.set(object);
      this.#notify(previous, object);
    }
    for (const key of this.#cache.keys()) {
      if (seen.has(key)) continue;
      const gone = this.#cache.delete(key) as T;
      this.#dispatch('onDelete', (h) => h.onDelete?.(gone));
    }
    this.#version = resourceVersion;
    if (!this.#hasSynced) {
      this.#hasSynced = true;
      this.#markSynced();
    }
  }

  #apply(event: WatchEvent<T>): void {
    const object = event.object;
    if (event.type === 'DELETED') {
      this.#cache.delete(keyOf(object));
      this.#dispatch('onDelete', (h) => h.onDelete?.(object));
    } else if (event.type !== 'BOOKMARK') {
      const previous = this.#cache.set(object);
      this.#notify(previous, object);
    }
    const version = object.metadata.resourceVersion;
    if (version) this.#version = version;
  }

  #notify(previous: T | undefined, object: T): void {
    if (previous) this.#dispatch('onUpdate', (h) => h.onUpdate?.(previous, object));
    else this.#dispatch('onAdd', (h) => h.onAdd?.(object));
  }

  #dispatch(what: string, call: (handlers: ResourceEventHandlers<T>) => void): void {
    for (const handlers of this.#handlers) this.#call(what, () => call(handlers));
  }

  #call(what: string, call: () => void): void {
    try {
      call();
    } catch (error) {
      this.#report(error, `${what} handler`);
    }
  }

  #selection(): { namespace?: string; labelSelector?: LabelSelector | string } {
    const selection: { namespace?: string; labelSelector?: LabelSelector | string } = {};
    if (this.#options.namespace) selection.namespace = this.#options.namespace;
    if (this.#options.labelSelector) selection.labelSelector = this.#options.labelSelector;
    return selection;
  }

  #report(error: unknown, during: string): void {
    const report = this.#options.onError;
    if (report) report(error);
    else process.emitWarning(`informer for ${describeRef(this.#kind)}: ${during} failed: ${String(error)}`);
  }
}
