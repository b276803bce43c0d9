import { setTimeout as sleep } from 'node:timers/promises';
import { StraitError } from '../../core/errors.ts';
import { type KindInfo, kindInfo } from '../../core/kinds.ts';
import type { KindRef, ObjectRef, Resource } from '../../core/resource.ts';
import { describeRef, groupOf, refOf } from '../../core/resource.ts';
import { formatSelector } from '../../core/selector.ts';
import {
  type ApplyOptions,
  type DeleteOptions,
  ForbiddenError,
  type ListOptions,
  type ListResult,
  type ResourceStore,
  type WatchEvent,
  WatchExpiredError,
  type WatchOptions,
} from '../../core/store.ts';
import { ApiUnreachableError, type KubeClient } from './client.ts';
import { errorFromResponse, isUnservedResource, KubeApiError } from './errors.ts';
import { type PathTarget, resourcePath } from './paths.ts';
import { watchConnection } from './watch.ts';

/** A kind the store was not told about (neither in src/core/kinds.ts nor in `extraKinds`). */
export class UnknownKindError extends StraitError {
  constructor(ref: KindRef) {
    super('E_UNKNOWN_KIND', `kind ${ref.kind} of apiVersion ${ref.apiVersion} is not known to the store`, {
      hint: 'register the kind in src/core/kinds.ts or pass it in extraKinds',
    });
    this.name = 'UnknownKindError';
  }
}

/** Why a watch connection was opened again without the caller seeing a break. */
export type WatchRestartReason = 'closed' | 'stalled' | 'failed';

export interface KubernetesStoreOptions {
  /** Kinds beyond src/core/kinds.ts this store serves (Node, EndpointSlice, CRDs of others). */
  extraKinds?: KindInfo[];
  /** A watch connection that delivers no bytes for this long is reopened (default 90 s). */
  watchIdleMs?: number;
  /** Upper bound of the server-side watch timeout; each watch picks 50–100 % of it (default 600 s). */
  watchTimeoutSeconds?: number;
  /** Page size of lists (default 500). */
  listPageSize?: number;
  /** Called when a watch connection is reopened from its last resourceVersion. */
  onWatchRestart?: (kind: KindRef, reason: WatchRestartReason, error?: unknown) => void;
}

/** Read-modify-write rounds of an update without resourceVersion before a conflict is reported. */
const UNCONDITIONAL_WRITE_ATTEMPTS = 5;

/** Consecutive failed reconnects a watch tolerates before it throws to its caller. */
const WATCH_RECONNECT_ATTEMPTS = 4;

/**
 * The ResourceStore of a Kubernetes cluster. Writes use the API's own
 * semantics: create (POST), optimistic update (PUT with resourceVersion),
 * server-side apply with a field manager, JSON merge patch, the status
 * subresource for status, and delete with a propagation policy. Watches
 * resume from their last resourceVersion across server timeouts, dropped
 * connections and silent stalls, and throw WatchExpiredError only when the
 * version has been compacted away.
 */
export class KubernetesStore implements ResourceStore {
  readonly #client: KubeClient;
  readonly #kinds = new Map<string, KindInfo>();
  readonly #options: KubernetesStoreOptions;

  constructor(client: KubeClient, options: KubernetesStoreOptions = {}) {
    this.#client = client;
    this.#options = options;
    for (const info of options.extraKinds ?? []) this.#kinds.set(`${info.apiVersion}/${info.kind}`, info);
  }

  /** The API server this store talks to. */
  get server(): string {
    return this.#client.server;
  }

  async get<T extends Resource = Resource>(ref: ObjectRef): Promise<T | undefined> {
    const info = this.#info(ref);
    const response = await this.#client.request({ method: 'GET', path: resourcePath(info, ref) });
    if (response.status === 404 && !isUnservedResource(response.body)) return undefined;
    return this.#result<T>(info, describeRef(ref), response);
  }

  async list<T extends Resource = Resource>(
    kind: KindRef,
    options: ListOptions = {},
  ): Promise<ListResult<T>> {
    const info = this.#info(kind);
    const what = describeRef({
      ...kind,
      ...(options.namespace ? { name: '*', namespace: options.namespace } : {}),
    });
    const labelSelector =
      options.labelSelector === undefined ? undefined : formatSelector(options.labelSelector);
    const items: T[] = [];
    let next: string | undefined;
    for (;;) {
      const response = await this.#client.request({
        method: 'GET',
        path: resourcePath(info, { namespace: options.namespace }),
        query: { labelSelector, limit: this.#options.listPageSize ?? 500, continue: next },
      });
      if (response.status === 410 && next !== undefined) {
        // The continue token outlived the compaction window: start the list over.
        items.length = 0;
        next = undefined;
        continue;
      }
      if (response.status !== 200) {
        throw errorFromResponse(what, response.status, response.body, { resource: resourceName(info) });
      }
      const page = response.body as {
        metadata?: { resourceVersion?: string; continue?: string };
        items?: T[];
      };
      for (const item of page.items ?? []) items.push(withKind(info, item));
      next = page.metadata?.continue || undefined;
      if (next === undefined) return { items, resourceVersion: page.metadata?.resourceVersion ?? '' };
    }
  }

  watch<T extends Resource = Resource>(
    kind: KindRef,
    options: WatchOptions = {},
  ): AsyncIterable<WatchEvent<T>> {
    return this.#watch(this.#info(kind), options) as AsyncIterable<WatchEvent<T>>;
  }

  async create<T extends Resource>(object: T): Promise<T> {
    const info = this.#info(object);
    const response = await this.#client.request({
      method: 'POST',
      path: resourcePath(info, { namespace: object.metadata.namespace }),
      body: object,
    });
    return this.#result<T>(info, describeRef(refOf(object)), response);
  }

  async update<T extends Resource>(object: T): Promise<T> {
    const info = this.#info(object);
    return this.#put<T>(info, object, {}, (current) => ({
      ...object,
      metadata: { ...object.metadata, resourceVersion: current.metadata.resourceVersion },
    }));
  }

  async apply<T extends Resource>(object: T, options: ApplyOptions): Promise<T> {
    const info = this.#info(object);
    const ref = refOf(object);
    const { managedFields: _, ...metadata } = object.metadata;
    const response = await this.#client.request({
      method: 'PATCH',
      path: resourcePath(info, ref),
      query: { fieldManager: options.fieldManager, force: options.force ? true : undefined },
      contentType: 'application/apply-patch+yaml',
      body: { ...object, metadata },
    });
    return this.#result<T>(info, describeRef(ref), response, ref);
  }

  async patch<T extends Resource = Resource>(ref: ObjectRef, patch: Record<string, unknown>): Promise<T> {
    const info = this.#info(ref);
    const response = await this.#client.request({
      method: 'PATCH',
      path: resourcePath(info, ref),
      contentType: 'application/merge-patch+json',
      body: patch,
    });
    return this.#result<T>(info, describeRef(ref), response, ref);
  }

  async updateStatus<T extends Resource>(object: T): Promise<T> {
    const info = this.#info(object);
    if (!info.hasStatus) {
      throw new ForbiddenError(describeRef(refOf(object)), `kind ${info.kind} has no status subresource`);
    }
    return this.#put<T>(info, object, { subresource: 'status' }, (current) => ({
      ...current,
      status: object.status,
    }));
  }

  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<boolean> {
    const info = this.#info(ref);
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    if (options.preconditions) body.preconditions = options.preconditions;
    const response = await this.#client.request({ method: 'DELETE', path: resourcePath(info, ref), body });
    if (response.status === 404 && !isUnservedResource(response.body)) return false;
    if (response.status >= 300) {
      const current = response.status === 409 ? await this.#currentVersion(ref) : undefined;
      throw errorFromResponse(describeRef(ref), response.status, response.body, {
        resource: resourceName(info),
        ...(current ? { currentResourceVersion: current } : {}),
      });
    }
    return true;
  }

  async *#watch(info: KindInfo, options: WatchOptions): AsyncGenerator<WatchEvent> {
    const what = describeRef({
      ...info,
      ...(options.namespace ? { name: '*', namespace: options.namespace } : {}),
    });
    const labelSelector =
      options.labelSelector === undefined ? undefined : formatSelector(options.labelSelector);
    let resourceVersion = options.resourceVersion;
    if (resourceVersion === undefined || resourceVersion === '' || resourceVersion === '0') {
      // Listing first gives a version to resume from, so a reconnect never replays or loses events.
      const listed = await this.list(info, options);
      for (const object of listed.items) yield { type: 'ADDED', object };
      resourceVersion = listed.resourceVersion;
    }
    const maxTimeout = this.#options.watchTimeoutSeconds ?? 600;
    let failures = 0;
    while (!options.signal?.aborted) {
      let end: WatchRestartReason;
      let failure: unknown;
      try {
        const events = watchConnection({
          client: this.#client,
          path: resourcePath(info, { namespace: options.namespace }),
          query: {
            labelSelector,
            allowWatchBookmarks: true,
            timeoutSeconds: Math.ceil(maxTimeout * (0.5 + Math.random() / 2)),
          },
          resourceVersion,
          what,
          resource: resourceName(info),
          idleMs: this.#options.watchIdleMs ?? 90_000,
          signal: options.signal,
        });
        let step = await events.next();
        while (!step.done) {
          failures = 0;
          const event = step.value;
          resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
          if (event.type !== 'BOOKMARK') yield { type: event.type, object: withKind(info, event.object) };
          else if (options.allowBookmarks) yield event;
          step = await events.next();
        }
        end = step.value;
      } catch (error) {
        if (options.signal?.aborted) return;
        if (error instanceof WatchExpiredError || !isTransient(error)) throw error;
        if (++failures > WATCH_RECONNECT_ATTEMPTS) throw error;
        end = 'failed';
        failure = error;
      }
      if (options.signal?.aborted) return;
      this.#options.onWatchRestart?.(info, end, failure);
      if (end === 'failed') await backoff(failures, options.signal);
    }
  }

  /**
   * PUT with optimistic concurrency. Without a resourceVersion the caller
   * asked for an unconditional write: read the current object, build the
   * replacement from it and retry when another writer got in between.
   */
  async #put<T extends Resource>(
    info: KindInfo,
    object: T,
    target: Pick<PathTarget, 'subresource'>,
    fromCurrent: (current: Resource) => Resource,
  ): Promise<T> {
    const ref = refOf(object);
    const what = describeRef(ref);
    const path = resourcePath(info, { ...ref, ...target });
    if (object.metadata.resourceVersion) {
      return this.#result<T>(
        info,
        what,
        await this.#client.request({ method: 'PUT', path, body: object }),
        ref,
      );
    }
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(ref);
      if (!current) throw errorFromResponse(what, 404, undefined);
      const response = await this.#client.request({ method: 'PUT', path, body: fromCurrent(current) });
      if (response.status !== 409 || attempt >= UNCONDITIONAL_WRITE_ATTEMPTS) {
        return this.#result<T>(info, what, response, ref);
      }
    }
  }

  #info(ref: KindRef): KindInfo {
    const info = this.#kinds.get(`${ref.apiVersion}/${ref.kind}`) ?? kindInfo(ref);
    if (!info) throw new UnknownKindError(ref);
    return info;
  }

  async #result<T extends Resource>(
    info: KindInfo,
    what: string,
    response: { status: number; body: unknown },
    ref?: ObjectRef,
  ): Promise<T> {
    if (response.status >= 200 && response.status < 300) return withKind(info, response.body as T);
    const current = response.status === 409 && ref ? await this.#currentVersion(ref) : undefined;
    throw errorFromResponse(what, response.status, response.body, {
      resource: resourceName(info),
      ...(current ? { currentResourceVersion: current } : {}),
    });
  }

  async #currentVersion(ref: ObjectRef): Promise<string | undefined> {
    try {
      return (await this.get(ref))?.metadata.resourceVersion;
    } catch {
      return undefined;
    }
  }
}

/** `services`, `links.multicluster.strait.io`: how kubectl names a resource type. */
function resourceName(info: KindInfo): string {
  const group = groupOf(info.apiVersion);
  return group ? `${info.plural}.${group}` : info.plural;
}

/** List items and watch events carry no apiVersion/kind; put them back. */
function withKind<T extends Resource>(info: KindInfo, object: T): T {
  if (object.apiVersion && object.kind) return object;
  return { ...object, apiVersion: info.apiVersion, kind: info.kind };
}

/** Dropped connections, 429 and 5xx are worth a reconnect; other store errors are not. */
function isTransient(error: unknown): boolean {
  if (error instanceof ApiUnreachableError) return true;
  if (error instanceof KubeApiError) return error.status === 429 || error.status >= 500;
  return !(error instanceof StraitError);
}

/** Capped exponential backoff with full jitter: up to 0.25 s, 0.5 s, 1 s, 2 s, … 8 s. */
async function backoff(attempt: number, signal: AbortSignal | undefined): Promise<void> {
  const cap = Math.min(8_000, 250 * 2 ** (attempt - 1));
  await sleep(Math.random() * cap, undefined, signal ? { signal } : {}).catch(() => {});
}
