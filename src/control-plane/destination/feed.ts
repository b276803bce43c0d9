import { Kinds } from '../../core/kinds.ts';
import type { KindRef, Resource } from '../../core/resource.ts';
import type { ResourceStore } from '../../core/store.ts';
import { type RpcServer, type RpcServerOptions, startRpcServer } from '../../rpc/server.ts';
import { SharedInformer } from '../runtime/index.ts';

/** Receives every object of the followed kinds as it is added, changed or deleted. */
export type FeedHandler = (object: Resource, deleted: boolean) => void;

/**
 * Hands out one informer per kind, shared by every part of a process that
 * follows that kind; its owner starts and stops them. Started here if not yet.
 */
export type InformerSource = (kind: KindRef) => SharedInformer;

export interface Feed {
  /** Resolves once every kind has delivered its first full list. */
  readonly synced: Promise<void>;
  /** Stops the informers this feed made; from shared ones it only detaches. */
  stop(): Promise<void>;
}

/**
 * Follows kinds of a store through informers (list, then watch; relist with
 * only the differences when a watch cannot resume), calling `handler` for
 * every change. Informers come from `options.informers` when given, so
 * several services in one process keep one cache per kind.
 */
export function followKinds(
  store: ResourceStore,
  kinds: readonly (keyof typeof Kinds)[],
  handler: FeedHandler,
  options: { onError?: (error: unknown) => void; informers?: InformerSource } = {},
): Feed {
  const owned: SharedInformer[] = [];
  const detach: (() => void)[] = [];
  const informers = kinds.map((kind) => {
    let informer = options.informers?.(Kinds[kind]);
    if (!informer) {
      informer = new SharedInformer(store, Kinds[kind], options.onError ? { onError: options.onError } : {});
      owned.push(informer);
    }
    detach.push(
      informer.addEventHandler({
        onAdd: (object) => handler(object, false),
        onUpdate: (_previous, object) => handler(object, false),
        onDelete: (object) => handler(object, true),
      }),
    );
    informer.start();
    return informer;
  });
  const synced = Promise.all(informers.map((informer) => informer.waitForSync())).then(() => undefined);
  return {
    synced,
    stop: async () => {
      for (const remove of detach) remove();
      await Promise.all(owned.map((informer) => informer.stop()));
    },
  };
}

/**
 * Serves a feed-backed gRPC service: waits for the feed's first full lists,
 * then starts the server; a server that cannot start stops the feed.
 */
export async function serveWhenSynced(feed: Feed, options: RpcServerOptions): Promise<RpcServer> {
  await feed.synced;
  try {
    return await startRpcServer(options);
  } catch (error) {
    await feed.stop();
    throw error;
  }
}
