import type { ObjectRef, Resource } from '../../../core/resource.ts';
import { kindKey, objectKey } from '../../../core/resource.ts';

/**
 * The current objects, by kind and then by `namespace/name`, indexed by uid,
 * by owner uid and by namespace. Holds the store's own copies.
 */
export class ObjectTable {
  readonly #kinds = new Map<string, Map<string, Resource>>();
  readonly #byUid = new Map<string, Resource>();
  readonly #byOwner = new Map<string, Set<Resource>>();
  readonly #byNamespace = new Map<string, Set<Resource>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(ref: ObjectRef): Resource | undefined {
    return this.#kinds.get(kindKey(ref))?.get(objectKey(ref));
  }

  byUid(uid: string): Resource | undefined {
    return this.#byUid.get(uid);
  }

  /** Objects with an owner reference to `uid`. */
  dependentsOf(uid: string): Resource[] {
    return [...(this.#byOwner.get(uid) ?? [])];
  }

  inNamespace(namespace: string): Resource[] {
    return [...(this.#byNamespace.get(namespace) ?? [])];
  }

  put(object: Resource): void {
    const key = kindKey(object);
    let objects = this.#kinds.get(key);
    if (!objects) {
      objects = new Map();
      this.#kinds.set(key, objects);
    }
    const name = objectKey(object.metadata);
    const previous = objects.get(name);
    if (previous) this.#unindex(previous);
    else this.#size++;
    objects.set(name, object);
    this.#index(object);
  }

  remove(ref: ObjectRef): void {
    const objects = this.#kinds.get(kindKey(ref));
    const name = objectKey(ref);
    const previous = objects?.get(name);
    if (!previous) return;
    objects?.delete(name);
    this.#unindex(previous);
    this.#size--;
  }

  ofKind(key: string): Iterable<Resource> {
    return this.#kinds.get(key)?.values() ?? [];
  }

  *all(): Iterable<Resource> {
    for (const objects of this.#kinds.values()) yield* objects.values();
  }

  #index(object: Resource): void {
    const { uid, namespace, ownerReferences } = object.metadata;
    if (uid) this.#byUid.set(uid, object);
    for (const owner of ownerReferences ?? []) addTo(this.#byOwner, owner.uid, object);
    if (namespace) addTo(this.#byNamespace, namespace, object);
  }

  #unindex(object: Resource): void {
    const { uid, namespace, ownerReferences } = object.metadata;
    if (uid && this.#byUid.get(uid) === object) this.#byUid.delete(uid);
    for (const owner of ownerReferences ?? []) removeFrom(this.#byOwner, owner.uid, object);
    if (namespace) removeFrom(this.#byNamespace, namespace, object);
  }
}

function addTo(index: Map<string, Set<Resource>>, key: string, object: Resource): void {
  let set = index.get(key);
  if (!set) {
    set = new Set();
    index.set(key, set);
  }
  set.add(object);
}

function removeFrom(index: Map<string, Set<Resource>>, key: string, object: Resource): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(object);
  if (set.size === 0) index.delete(key);
}
