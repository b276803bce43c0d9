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
  // Only versions are kept: the handler's owner holds the objects it needs.
  const known = new Map<string, string | undefined>();
  let backoff = options.retryMs ?? 200;
  while (!signal.aborted) {
    try {
      const listed = await store.list(kind);
      const seen = new Set<string>();
      for (const object of listed.items) {
        const key = objectKey(object.metadata);
        seen.add(key);
        if (!known.has(key) || known.get(key) !== object.metadata.resourceVersion) {
          known.set(key, object.metadata.resourceVersion);
          handler(object, false);
        }
      }
      for (const key of known.keys()) {
        if (seen.has(key)) continue;
        known.delete(key);
        handler(stubOf(kind, key), true);
      }
      onSynced();
      backoff = options.retryMs ?? 200;
      for await (const event of store.watch(kind, { resourceVersion: listed.resourceVersion, signal })) {
        if (event.type === 'BOOKMARK') continue;
        const key = objectKey(event.object.metadata);
        if (event.type === 'DELETED') known.delete(key);
        else known.set(key, event.object.metadata.resourceVersion);
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

/** The identity of an object that is gone, for a deletion found by listing again. */
function stubOf(kind: { apiVersion: string; kind: string }, key: string): Resource {
  const slash = key.indexOf('/');
  const metadata =
    slash === -1 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
  return { apiVersion: kind.apiVersion, kind: kind.kind, metadata };
}
