import { Kinds } from '../../core/kinds.ts';
import type { Resource } from '../../core/resource.ts';
import type { ResourceStore } from '../../core/store.ts';
import { SharedInformer } from '../runtime/index.ts';

/** Receives every object of the followed kinds as it is added, changed or deleted. */
export type FeedHandler = (object: Resource, deleted: boolean) => void;

export interface Feed {
  /** Resolves once every kind has delivered its first full list. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows kinds of a store through shared informers (list, then watch;
 * relist with only the differences when a watch cannot resume), calling
 * `handler` for every change.
 */
export function followKinds(
  store: ResourceStore,
  kinds: readonly (keyof typeof Kinds)[],
  handler: FeedHandler,
  options: { onError?: (error: unknown) => void } = {},
): Feed {
  const informers = kinds.map((kind) => {
    const informer = new SharedInformer(
      store,
      Kinds[kind],
      options.onError ? { onError: options.onError } : {},
    );
    informer.addEventHandler({
      onAdd: (object) => handler(object, false),
      onUpdate: (_previous, object) => handler(object, false),
      onDelete: (object) => handler(object, true),
    });
    informer.start();
    return informer;
  });
  const synced = Promise.all(informers.map((informer) => informer.waitForSync())).then(() => undefined);
  return {
    synced,
    stop: async () => {
      await Promise.all(informers.map((informer) => informer.stop()));
    },
  };
}
