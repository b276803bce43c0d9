import { createHash } from 'node:crypto';
import type { Event } from '../../core/api/core.ts';
import { isStraitError } from '../../core/errors.ts';
import type { Resource } from '../../core/resource.ts';
import type { ResourceStore } from '../../core/store.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** Reporting component: `service-mirror`, `destination`. */
  component: string;
  host?: string;
  /** Told when an event could not be written (default: a process warning). Recording never throws. */
  onError?(error: unknown): void;
  now?(): Date;
}

/** Namespace of events about cluster-scoped objects, as in Kubernetes. */
const CLUSTER_EVENTS_NAMESPACE = 'default';
const ATTEMPTS = 5;

/**
 * Writes v1 Events about objects through a store. The same event (object,
 * type, reason, message, component) repeated is one Event whose `count`
 * grows and whose `lastTimestamp` moves, not a new object each time.
 */
export class EventRecorder {
  readonly #store: ResourceStore;
  readonly #options: EventRecorderOptions;
  /** Writes of one Event happen one after another. */
  readonly #inFlight = new Map<string, Promise<Event | undefined>>();

  constructor(store: ResourceStore, options: EventRecorderOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Records an event about `object`; resolves with the stored Event, or undefined if it could not be written. */
  record(object: Resource, type: EventType, reason: string, message: string): Promise<Event | undefined> {
    const event = this.#eventFor(object, type, reason, message);
    const key = `${event.metadata.namespace}/${event.metadata.name}`;
    const previous = this.#inFlight.get(key) ?? Promise.resolve(undefined);
    const next = previous.then(() => this.#write(event));
    this.#inFlight.set(key, next);
    void next.finally(() => {
      if (this.#inFlight.get(key) === next) this.#inFlight.delete(key);
    });
    return next;
  }

  async #write(event: Event): Promise<Event | undefined> {
    const ref = {
      apiVersion: 'v1',
      kind: 'Event',
      namespace: event.metadata.namespace as string,
      name: event.metadata.name,
    };
    const now = event.lastTimestamp as string;
    for (let attempt = 1; ; attempt++) {
      try {
        const existing = await this.#store.get<Event>(ref);
        if (!existing) return await this.#store.create(event);
        return await this.#store.update<Event>({
          ...existing,
          count: (existing.count ?? 1) + 1,
          lastTimestamp: now,
        });
      } catch (error) {
        const retry =
          isStraitError(error) && (error.code === 'E_CONFLICT' || error.code === 'E_ALREADY_EXISTS');
        if (retry && attempt < ATTEMPTS) continue;
        this.#report(error);
        return undefined;
      }
    }
  }

  #eventFor(object: Resource, type: EventType, reason: string, message: string): Event {
    const involvedObject: Event['involvedObject'] = {
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: object.metadata.name,
    };
    if (object.metadata.namespace) involvedObject.namespace = object.metadata.namespace;
    if (object.metadata.uid) involvedObject.uid = object.metadata.uid;
    const source: { component: string; host?: string } = { component: this.#options.component };
    if (this.#options.host) source.host = this.#options.host;
    const identity = JSON.stringify([involvedObject, type, reason, message, source]);
    const digest = createHash('sha256').update(identity).digest('hex').slice(0, 16);
    const time = (this.#options.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${eventNamePrefix(object.metadata.name)}.${digest}`,
        namespace: object.metadata.namespace ?? CLUSTER_EVENTS_NAMESPACE,
      },
      involvedObject,
      type,
      reason,
      message: message.length > 4096 ? `${message.slice(0, 4093)}...` : message,
      count: 1,
      firstTimestamp: time,
      lastTimestamp: time,
      source,
    };
  }

  #report(error: unknown): void {
    if (this.#options.onError) this.#options.onError(error);
    else process.emitWarning(`${this.#options.component}: could not record an event: ${String(error)}`);
  }
}

/** The object's name made fit for a DNS-subdomain Event name (`system:reader` → `system-reader`). */
function eventNamePrefix(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .slice(0, 200)
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return cleaned === '' ? 'object' : cleaned;
}
