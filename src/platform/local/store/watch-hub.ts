import type { Resource } from '../../../core/resource.ts';
import { kindKey } from '../../../core/resource.ts';
import type { LabelRequirement } from '../../../core/selector.ts';
import { matchesRequirements } from '../../../core/selector.ts';
import type { WatchEvent } from '../../../core/store.ts';
import { WatchExpiredError } from '../../../core/store.ts';

/** One committed change, as kept in the history window. */
export interface StoredEvent {
  resourceVersion: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Resource;
  /** The object before a MODIFIED change, to tell watchers with selectors when it left or entered. */
  previous?: Resource;
}

/** Which objects a watcher sees. */
export interface WatchFilter {
  kindKey: string;
  namespace: string | undefined;
  requirements: readonly LabelRequirement[];
}

/**
 * The history window and live watchers. Events are kept for the last
 * `capacity` resource versions; a watcher asking for older ones is told to
 * relist. A watcher that falls `maxBacklog` events behind is ended the same way
 * rather than buffering without bound.
 */
export class WatchHub {
  readonly #capacity: number;
  readonly #maxBacklog: number;
  readonly #subscribers = new Set<Subscriber>();
  #history: StoredEvent[] = [];
  /** Events up to and including this version are no longer in the window. */
  #compactedThrough: number;
  #published: number;

  constructor(options: { capacity: number; maxBacklog: number; startVersion: number }) {
    this.#capacity = options.capacity;
    this.#maxBacklog = options.maxBacklog;
    this.#compactedThrough = options.startVersion;
    this.#published = options.startVersion;
  }

  /** The version of the last published event. */
  get publishedVersion(): number {
    return this.#published;
  }

  publish(event: StoredEvent): void {
    this.#published = event.resourceVersion;
    this.#history.push(event);
    if (this.#history.length >= this.#capacity * 2) {
      const dropped = this.#history.length - this.#capacity;
      this.#compactedThrough = (this.#history[dropped - 1] as StoredEvent).resourceVersion;
      this.#history = this.#history.slice(dropped);
    }
    for (const subscriber of this.#subscribers) subscriber.offer(event);
  }

  /** Events after `version`, oldest first; throws WatchExpiredError when some are gone. */
  since(version: number, current: number): StoredEvent[] {
    if (version < this.#compactedThrough || version > current) throw new WatchExpiredError(String(version));
    let index = this.#history.length;
    while (index > 0 && (this.#history[index - 1] as StoredEvent).resourceVersion > version) index--;
    return this.#history.slice(index);
  }

  /** A new watcher of events after version `after`. */
  subscribe(filter: WatchFilter, after: number): Subscriber {
    const subscriber = new Subscriber(filter, after, this.#maxBacklog, () =>
      this.#subscribers.delete(subscriber),
    );
    this.#subscribers.add(subscriber);
    return subscriber;
  }

  /** Ends every watch (the store is closing). */
  closeAll(): void {
    for (const subscriber of [...this.#subscribers]) subscriber.close();
  }
}

/** What `filter` makes of a stored event: the event to deliver, or undefined. */
export function eventFor(filter: WatchFilter, event: StoredEvent): WatchEvent | undefined {
  if (kindKey(event.object) !== filter.kindKey) return undefined;
  const now = matches(filter, event.object);
  if (event.type !== 'MODIFIED') return now ? { type: event.type, object: event.object } : undefined;
  const before = event.previous !== undefined && matches(filter, event.previous);
  if (before && now) return { type: 'MODIFIED', object: event.object };
  if (now) return { type: 'ADDED', object: event.object };
  if (before) return { type: 'DELETED', object: event.object };
  return undefined;
}

export function matches(filter: WatchFilter, object: Resource): boolean {
  if (filter.namespace !== undefined && object.metadata.namespace !== filter.namespace) return false;
  return matchesRequirements(filter.requirements, object.metadata.labels);
}

/** One watcher's queue of events not yet taken. */
export class Subscriber {
  readonly #filter: WatchFilter;
  readonly #after: number;
  readonly #maxBacklog: number;
  readonly #onClose: () => void;
  #queue: WatchEvent[] = [];
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  #closed = false;

  constructor(filter: WatchFilter, after: number, maxBacklog: number, onClose: () => void) {
    this.#filter = filter;
    this.#after = after;
    this.#maxBacklog = maxBacklog;
    this.#onClose = onClose;
  }

  offer(event: StoredEvent): void {
    if (event.resourceVersion <= this.#after) return;
    const delivered = eventFor(this.#filter, event);
    if (delivered) this.push(delivered);
  }

  push(event: WatchEvent): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#maxBacklog) {
      this.#failure = new WatchExpiredError(event.object.metadata.resourceVersion ?? '');
      this.#queue = [];
      this.close();
      return;
    }
    this.#queue.push(event);
    this.#wakeUp();
  }

  /** The next event; undefined once closed or aborted. */
  async take(signal: AbortSignal | undefined): Promise<WatchEvent | undefined> {
    for (;;) {
      const event = this.#queue.shift();
      if (event) return event;
      if (this.#failure) throw this.#failure;
      if (this.#closed || signal?.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
