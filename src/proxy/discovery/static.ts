import type { Endpoint, EndpointUpdate, Resolver } from './types.ts';

/**
 * Endpoints listed in configuration, keyed by target authority
 * ("web.shop.svc.cluster.local:8080"). `set` replaces a target's endpoints
 * and notifies watchers, which lets tests and plain hosts change them live.
 */
export class StaticResolver implements Resolver {
  readonly #targets = new Map<string, Endpoint[]>();
  readonly #watchers = new Map<string, Set<(update: EndpointUpdate) => void>>();

  constructor(targets: Record<string, Endpoint[]> = {}) {
    for (const [target, endpoints] of Object.entries(targets)) this.#targets.set(target, endpoints);
  }

  watch(target: string, onUpdate: (update: EndpointUpdate) => void): () => void {
    const set = this.#watchers.get(target) ?? new Set();
    this.#watchers.set(target, set);
    set.add(onUpdate);
    queueMicrotask(() => set.has(onUpdate) && onUpdate(this.#snapshot(target)));
    return () => set.delete(onUpdate);
  }

  /** Replaces the endpoints of `target`: watchers see the removals and the new set. */
  set(target: string, endpoints: Endpoint[]): void {
    const previous = this.#targets.get(target) ?? [];
    this.#targets.set(target, endpoints);
    for (const watcher of this.#watchers.get(target) ?? []) {
      if (previous.length > 0) watcher({ kind: 'remove', addresses: previous });
      watcher(this.#snapshot(target));
    }
  }

  #snapshot(target: string): EndpointUpdate {
    const endpoints = this.#targets.get(target);
    if (endpoints === undefined) return { kind: 'none', exists: false };
    if (endpoints.length === 0) return { kind: 'none', exists: true };
    return { kind: 'add', endpoints };
  }
}
