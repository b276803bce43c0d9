import { randomBytes, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KindInfo } from '../../../core/kinds.ts';
import { kindInfo } from '../../../core/kinds.ts';
import type { KindRef, ObjectRef, Resource } from '../../../core/resource.ts';
import { describeRef, kindKey, objectKey, refOf } from '../../../core/resource.ts';
import { defaulted, validateResource } from '../../../core/schemas/index.ts';
import { requirementsOf } from '../../../core/selector.ts';
import type {
  ApplyOptions,
  DeleteOptions,
  FieldError,
  ListOptions,
  ListResult,
  ResourceStore,
  WatchEvent,
  WatchOptions,
} from '../../../core/store.ts';
import { AlreadyExistsError, ForbiddenError, InvalidError, NotFoundError } from '../../../core/store.ts';
import { applyConfiguration } from './apply.ts';
import { StoreClosedError, UnknownKindError } from './errors.ts';
import type { Journal } from './journal.ts';
import { copyJson, intern } from './json-copy.ts';
import { Lifecycle } from './lifecycle.ts';
import { mergePatch } from './merge-patch.ts';
import { checkPreconditions, clientMetadata, sameObject, specOf, timestamp } from './metadata.ts';
import { ObjectTable } from './object-table.ts';
import type { StoredEvent, WatchFilter } from './watch-hub.ts';
import { eventFor, matches, WatchHub } from './watch-hub.ts';

export interface LocalStoreSettings {
  /** How many resource versions of history a watch can resume from. */
  historySize: number;
  /** Events a watcher may fall behind by before its watch is ended. */
  maxWatchBacklog: number;
  /** Period of BOOKMARK events for watches that ask for them. */
  bookmarkIntervalMs: number;
  /** Events not repeated for this long are deleted, as the Kubernetes API server does. */
  eventTtlMs: number;
}

/**
 * The local platform's store: every object in memory, every change written
 * through an optional journal before it is acknowledged. All state changes
 * happen synchronously inside one call, so writes never interleave.
 */
export class LocalStore implements ResourceStore {
  readonly #table = new ObjectTable();
  readonly #settings: LocalStoreSettings;
  readonly #journal: Journal | undefined;
  readonly #hub: WatchHub;
  readonly #lifecycle: Lifecycle;
  readonly #eventSweeper: NodeJS.Timeout;
  readonly #pending = new Set<Promise<void>>();
  /** Changes written but not yet known durable, oldest first. */
  readonly #unpublished: StoredEvent[] = [];
  #version: number;
  #closed = false;

  /** Use openLocalStore(); this is for the opener, which loads saved state first. */
  constructor(
    settings: LocalStoreSettings,
    journal?: Journal,
    saved?: { version: number; objects: Resource[] },
  ) {
    this.#settings = settings;
    this.#journal = journal;
    this.#version = saved?.version ?? 0;
    for (const object of saved?.objects ?? []) this.#table.put(object);
    this.#hub = new WatchHub({
      capacity: settings.historySize,
      maxBacklog: settings.maxWatchBacklog,
      startVersion: this.#version,
    });
    this.#lifecycle = new Lifecycle({
      table: this.#table,
      commit: (type, object, previous) => this.#commit(type, object, previous),
      background: (work) => this.#background(work),
    });
    if (saved) this.#background(() => this.#lifecycle.resume());
    this.#eventSweeper = setInterval(
      () => this.#background(() => this.#expireEvents()),
      Math.min(settings.eventTtlMs, 60_000),
    );
    this.#eventSweeper.unref();
  }

  /** The newest resourceVersion. */
  get resourceVersion(): string {
    return String(this.#version);
  }

  /** Number of stored objects. */
  get size(): number {
    return this.#table.size;
  }

  async get<T extends Resource = Resource>(ref: ObjectRef): Promise<T | undefined> {
    this.#open();
    this.#info(ref);
    const object = this.#table.get(ref);
    return this.#durably(object === undefined ? undefined : (copyJson(object) as T));
  }

  async list<T extends Resource = Resource>(
    kind: KindRef,
    options: ListOptions = {},
  ): Promise<ListResult<T>> {
    this.#open();
    const filter = this.#filter(kind, options);
    const selected: Resource[] = [];
    for (const object of this.#table.ofKind(filter.kindKey))
      if (matches(filter, object)) selected.push(object);
    selected.sort(byNamespaceAndName);
    const items = copyJson(selected) as T[];
    return this.#durably({ items, resourceVersion: this.resourceVersion });
  }

  watch<T extends Resource = Resource>(
    kind: KindRef,
    options: WatchOptions = {},
  ): AsyncIterable<WatchEvent<T>> {
    return this.#watch(kind, options) as AsyncIterable<WatchEvent<T>>;
  }

  /** Creates; a `metadata.generateName` without a name gets a random suffix, as in Kubernetes. */
  async create<T extends Resource>(object: T): Promise<T> {
    return this.#durably(copyJson(this.#create(withGeneratedName(normalize(object)))) as T);
  }

  async update<T extends Resource>(object: T): Promise<T> {
    return this.#durably(copyJson(this.#update(normalize(object))) as T);
  }

  async apply<T extends Resource>(object: T, options: ApplyOptions): Promise<T> {
    this.#open();
    const applied = normalize(object);
    const info = this.#info(applied);
    this.#checkScope(applied, info);
    const current = this.#table.get(refOf(applied));
    const result = applyConfiguration(current, applied, options, timestamp());
    const stored = current ? this.#update(result, true) : this.#create(result, true);
    return this.#durably(copyJson(stored) as T);
  }

  async patch<T extends Resource = Resource>(ref: ObjectRef, patch: Record<string, unknown>): Promise<T> {
    this.#open();
    this.#info(ref);
    const current = this.#existing(ref);
    const patched = mergePatch(current, normalize(patch, false)) as Resource;
    const fields: FieldError[] = [];
    for (const field of ['apiVersion', 'kind'] as const) {
      if (patched[field] !== current[field]) fields.push({ field, reason: 'may not be changed by a patch' });
    }
    for (const field of ['name', 'namespace'] as const) {
      if (patched.metadata?.[field] !== current.metadata[field]) {
        fields.push({ field: `metadata.${field}`, reason: 'may not be changed by a patch' });
      }
    }
    if (fields.length > 0) throw new InvalidError(describeRef(ref), fields);
    return this.#durably(copyJson(this.#update(patched)) as T);
  }

  async updateStatus<T extends Resource>(object: T): Promise<T> {
    this.#open();
    const next = normalize(object);
    const info = this.#info(next);
    const what = describeRef(refOf(next));
    if (!info.hasStatus) throw new ForbiddenError(what, `kind ${info.kind} has no status subresource`);
    const current = this.#existing(refOf(next));
    checkPreconditions(what, current, next.metadata);
    let updated: Resource = copyJson(current);
    if (next.status === undefined) delete updated.status;
    else updated.status = next.status;
    updated = defaulted(updated);
    if (sameObject(updated, current)) return this.#durably(copyJson(current) as T);
    this.#validate(updated);
    return this.#durably(copyJson(this.#commit('MODIFIED', updated, current)) as T);
  }

  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<boolean> {
    this.#open();
    this.#info(ref);
    return this.#durably(this.#lifecycle.delete(ref, options));
  }

  /** Resolves once background collection (owner references, namespaces) has finished. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  /**
   * Ends every watch and closes the journal. Acknowledged writes are already
   * durable; background collection not yet done resumes at the next open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#eventSweeper);
    this.#hub.closeAll();
    await this.#journal?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async *#watch(kind: KindRef, options: WatchOptions): AsyncGenerator<WatchEvent> {
    this.#open();
    const filter = this.#filter(kind, options);
    const from = options.resourceVersion;
    const start =
      from === undefined || from === '' || from === '0'
        ? undefined
        : this.#hub.since(parseVersion(from), this.#version);
    const initial: WatchEvent[] = [];
    if (start === undefined) {
      const objects = [...this.#table.ofKind(filter.kindKey)].filter((o) => matches(filter, o));
      for (const object of objects.sort(byNamespaceAndName)) initial.push({ type: 'ADDED', object });
    } else {
      for (const stored of start) {
        const event = eventFor(filter, stored);
        if (event) initial.push(event);
      }
    }
    // Changes up to here are in `initial`; the subscriber takes the ones after.
    const after = start === undefined ? this.#version : parseVersion(from as string);
    const subscriber = this.#hub.subscribe(filter, after);
    const bookmark = () => {
      const version = Math.max(after, this.#hub.publishedVersion);
      subscriber.push({
        type: 'BOOKMARK',
        object: {
          apiVersion: kind.apiVersion,
          kind: kind.kind,
          metadata: { name: '', resourceVersion: String(version) },
        },
      });
    };
    if (options.allowBookmarks) bookmark();
    const timer = options.allowBookmarks
      ? setInterval(bookmark, this.#settings.bookmarkIntervalMs)
      : undefined;
    timer?.unref();
    try {
      await this.#durably(undefined);
      for (const event of initial) {
        if (options.signal?.aborted) return;
        yield { type: event.type, object: copyJson(event.object) };
      }
      for (;;) {
        const event = await subscriber.take(options.signal);
        if (!event) return;
        yield { type: event.type, object: copyJson(event.object) };
      }
    } finally {
      clearInterval(timer);
      subscriber.close();
    }
  }

  #create(object: Resource, applied = false): Resource {
    this.#open();
    const info = this.#info(object);
    this.#checkScope(object, info);
    const ref = refOf(object);
    const what = describeRef(ref);
    if (this.#table.get(ref)) throw new AlreadyExistsError(what);
    if (info.namespaced) {
      const namespace = this.#table.get({
        apiVersion: 'v1',
        kind: 'Namespace',
        name: ref.namespace as string,
      });
      if (namespace?.metadata.deletionTimestamp) {
        throw new ForbiddenError(what, `namespace ${ref.namespace} is being deleted`);
      }
    }
    const created: Resource = {
      ...defaulted(object),
      metadata: {
        ...clientMetadata(object.metadata),
        uid: flatUid(),
        generation: 1,
        creationTimestamp: timestamp(),
      },
    };
    if (applied && object.metadata.managedFields)
      created.metadata.managedFields = object.metadata.managedFields;
    if (info.hasStatus) delete created.status;
    if (info.kind === 'Namespace' && info.apiVersion === 'v1') created.status = { phase: 'Active' };
    this.#validate(created);
    this.#commit('ADDED', created);
    this.#lifecycle.collectIfDangling(created);
    return created;
  }

  #update(object: Resource, applied = false): Resource {
    this.#open();
    const info = this.#info(object);
    this.#checkScope(object, info);
    const ref = refOf(object);
    const what = describeRef(ref);
    const current = this.#existing(ref);
    checkPreconditions(what, current, object.metadata);
    const next: Resource = {
      ...defaulted(object),
      metadata: {
        ...clientMetadata(object.metadata),
        uid: current.metadata.uid as string,
        resourceVersion: current.metadata.resourceVersion as string,
        generation: current.metadata.generation ?? 1,
        creationTimestamp: current.metadata.creationTimestamp as string,
      },
    };
    const managed = applied ? object.metadata.managedFields : current.metadata.managedFields;
    if (managed && managed.length > 0) next.metadata.managedFields = managed;
    else delete next.metadata.managedFields;
    if (info.hasStatus) {
      if (current.status === undefined) delete next.status;
      else next.status = current.status;
    }
    this.#validate(next);
    if (current.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
      const added = (next.metadata.finalizers ?? []).filter((f) => !current.metadata.finalizers?.includes(f));
      if (added.length > 0) {
        throw new ForbiddenError(
          what,
          `no new finalizers (${added.join(', ')}) can be added while it is being deleted`,
        );
      }
    }
    if (!next.metadata.finalizers?.length) delete next.metadata.finalizers;
    if (sameObject(next, current)) return current;
    if (!isDeepStrictEqual(specOf(next), specOf(current))) {
      next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    }
    const stored = this.#commit('MODIFIED', next, current);
    this.#lifecycle.collectIfDangling(stored);
    return this.#lifecycle.finalizeIfDone(stored) ?? stored;
  }

  /**
   * Records one change: journal, then memory. Watchers see it once it is
   * durable, which callers wait for through #durably before acknowledging.
   */
  #commit(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Resource, previous?: Resource): Resource {
    const version = this.#version + 1;
    object.metadata.resourceVersion = String(version);
    object.apiVersion = intern(object.apiVersion);
    object.kind = intern(object.kind);
    if (object.metadata.namespace !== undefined)
      object.metadata.namespace = intern(object.metadata.namespace);
    this.#journal?.append({ version, type, object });
    this.#version = version;
    if (type === 'DELETED') this.#table.remove(refOf(object));
    else this.#table.put(object);
    const event: StoredEvent = previous
      ? { resourceVersion: version, type, object, previous }
      : { resourceVersion: version, type, object };
    if (!this.#journal) {
      this.#hub.publish(event);
      return object;
    }
    this.#unpublished.push(event);
    if (this.#journal.wantsSnapshot()) this.#journal.snapshot(version, [...this.#table.all()]);
    this.#durably(undefined).catch(() => {
      // The writer that made this change hears about the failure.
    });
    return object;
  }

  /** Resolves with `value` once every change so far is durable and published to watchers. */
  async #durably<T>(value: T): Promise<T> {
    if (!this.#journal) return value;
    const durable = await this.#journal.flush();
    while (this.#unpublished.length > 0 && (this.#unpublished[0] as StoredEvent).resourceVersion <= durable) {
      this.#hub.publish(this.#unpublished.shift() as StoredEvent);
    }
    return value;
  }

  #expireEvents(): void {
    const oldest = Date.now() - this.#settings.eventTtlMs;
    for (const event of [...this.#table.ofKind('v1/Event')]) {
      const last = Date.parse(String(event.lastTimestamp ?? event.metadata.creationTimestamp));
      if (last < oldest) this.#lifecycle.delete(refOf(event), {});
    }
  }

  /** Runs store-internal follow-up work after the current call has returned. */
  #background(work: () => void): void {
    const done = new Promise<void>((resolve) => {
      setImmediate(() => {
        try {
          if (!this.#closed) work();
        } catch (error) {
          process.emitWarning(`local store: background collection failed: ${String(error)}`);
        } finally {
          this.#pending.delete(done);
          resolve();
        }
      });
    });
    this.#pending.add(done);
  }

  #existing(ref: ObjectRef): Resource {
    const current = this.#table.get(ref);
    if (!current) throw new NotFoundError(describeRef(ref));
    return current;
  }

  #checkScope(object: Resource, info: KindInfo): void {
    const fields: FieldError[] = [];
    if (typeof object.metadata?.name !== 'string' || object.metadata.name === '') {
      fields.push({ field: 'metadata.name', reason: 'is required' });
    }
    const namespace = object.metadata?.namespace;
    if (info.namespaced && (typeof namespace !== 'string' || namespace === '')) {
      fields.push({ field: 'metadata.namespace', reason: `is required: ${info.kind} is namespaced` });
    }
    if (!info.namespaced && namespace) {
      fields.push({ field: 'metadata.namespace', reason: `must be empty: ${info.kind} is cluster-scoped` });
    }
    if (fields.length > 0)
      throw new InvalidError(describeRef({ ...object, name: object.metadata?.name }), fields);
  }

  #validate(object: Resource): void {
    const fields = validateResource(object);
    if (fields.length > 0) throw new InvalidError(describeRef(refOf(object)), fields);
  }

  /** What a list or watch selects; a namespace means nothing for cluster-scoped kinds, as in kubectl. */
  #filter(kind: KindRef, options: ListOptions): WatchFilter {
    const info = this.#info(kind);
    return {
      kindKey: kindKey(kind),
      namespace: (info.namespaced && options.namespace) || undefined,
      requirements: requirementsOf(options.labelSelector),
    };
  }

  #info(ref: KindRef): KindInfo {
    const info = kindInfo(ref);
    if (!info) throw new UnknownKindError(String(ref.apiVersion), String(ref.kind));
    return info;
  }

  #open(): void {
    if (this.#closed) throw new StoreClosedError();
  }
}

function byNamespaceAndName(a: Resource, b: Resource): number {
  const left = objectKey(a.metadata);
  const right = objectKey(b.metadata);
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * A plain JSON copy: drops `undefined`, turns dates into strings, rejects what
 * JSON cannot hold. An object (not a patch) must have metadata.
 */
function normalize<T>(value: T, isObject = true): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidError('object', [{ field: '(object)', reason: 'must be a JSON object' }]);
  }
  let copy: T;
  try {
    copy = JSON.parse(JSON.stringify(value)) as T;
  } catch (error) {
    throw new InvalidError('object', [
      { field: '(object)', reason: `cannot be stored as JSON: ${String(error)}` },
    ]);
  }
  const metadata = (copy as { metadata?: unknown }).metadata;
  if (isObject && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
    throw new InvalidError('object', [{ field: 'metadata', reason: 'is required' }]);
  }
  return copy;
}

function withGeneratedName(object: Resource): Resource {
  const prefix = (object.metadata as { generateName?: unknown }).generateName;
  if (object.metadata.name || typeof prefix !== 'string' || prefix === '') return object;
  const suffix = Array.from(randomBytes(5), (byte) => 'bcdfghjklmnpqrstvwxz2456789'[byte % 27]).join('');
  return { ...object, metadata: { ...object.metadata, name: `${prefix}${suffix}` } };
}

/**
 * A random uid as one flat string: randomUUID builds it from sixteen joined
 * pieces, which V8 keeps as a tree of ~500 bytes until something flattens it.
 */
function flatUid(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}

function parseVersion(text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new InvalidError('watch', [
      { field: 'resourceVersion', reason: `"${text}" is not a resource version` },
    ]);
  }
  return Number(text);
}
