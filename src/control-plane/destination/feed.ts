import { Kinds } from '../../core/kinds.ts';
import { objectKey, type Resource } from '../../core/resource.ts';
import type { ResourceStore } from '../../core/store.ts';

/** Receives every object of the followed kinds as it is added, changed or deleted. */
export type FeedHandler = (object: Resource, deleted: boolean) => void;

export interface Feed {
  /** Resolves once every kind has delivered its first full list. */
  readonly synced: Promise<void>;
  stop(): void;
}

/**
 * Follows kinds of a store: lists, then watches from the list's version;
 * when a watch ends or expires it lists again after a backoff and delivers
 * only the differences, so a handler never misses a deletion.
 */
export function followKinds(
  store: ResourceStore,
  kinds: readonly (keyof typeof Kinds)[],
  handler: FeedHandler,
  options: { onError?: (kind: string, error: unknown) => void; retryMs?: number } = {},
): Feed {
  const abort = new AbortController();
  const synced = Promise.all(
    kinds.map(
      (kind) =>
        new Promise<void>((resolve) => {
          void follow(store, Kinds[kind], handler, abort.signal, resolve, options);
        }),
    ),
  ).then(() => undefined);
  return { synced, stop: () => abort.abort() };
}

async function follow(
  store: ResourceStore,
  kind: (typeof Kinds)[keyof typeof Kinds],
  handler: FeedHandler,
  signal: AbortSignal,
  onSynced: () => void,
  options: { onError?: (kind: string, error: unknown) => void; retryMs?: number },
): Promise<void> {
  const known = new Map<string, Resource>();
  let backoff = options.retryMs ?? 200;
  while (!signal.aborted) {
    try {
      const listed = await store.list(kind);
      const seen = new Set<string>();
      for (const object of listed.items) {
        const key = objectKey(object.metadata);
        seen.add(key);
        if (known.get(key)?.metadata.resourceVersion !== object.metadata.resourceVersion) {
          known.set(key, object);
          handler(object, false);
        }
      }
      for (const [key, object] of known) {
        if (seen.has(key)) continue;
        known.delete(key);
        handler(object, true);
      }
      onSynced();
      backoff = options.retryMs ?? 200;
      for await (const event of store.watch(kind, { resourceVersion: listed.resourceVersion, signal })) {
        if (event.type === 'BOOKMARK') continue;
        const key = objectKey(event.object.metadata);
        if (event.type === 'DELETED') known.delete(key);
        else known.set(key, event.object);
        handler(event.object, event.type === 'DELETED');
      }
    } catch (error) {
      if (signal.aborted) return;
      options.onError?.(kind.kind, error);
    }
    if (signal.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, backoff).unref());
    backoff = Math.min(backoff * 2, 5000);
  }
}
