import type { ObjectRef, Resource } from '../../../core/resource.ts';
import { kindKey, objectKey } from '../../../core/resource.ts';

/** The current objects, by kind and then by `namespace/name`. Holds the store's own copies. */
export class ObjectTable {
  readonly #kinds = new Map<string, Map<string, Resource>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(ref: ObjectRef): Resource | undefined {
    return this.#kinds.get(kindKey(ref))?.get(objectKey(ref));
  }

  put(object: Resource): void {
    const key = kindKey(object);
    let objects = this.#kinds.get(key);
    if (!objects) {
      objects = new Map();
      this.#kinds.set(key, objects);
    }
    const name = objectKey(object.metadata);
    if (!objects.has(name)) this.#size++;
    objects.set(name, object);
  }

  remove(ref: ObjectRef): void {
    if (this.#kinds.get(kindKey(ref))?.delete(objectKey(ref))) this.#size--;
  }

  ofKind(key: string): Iterable<Resource> {
    return this.#kinds.get(key)?.values() ?? [];
  }

  *all(): Iterable<Resource> {
    for (const objects of this.#kinds.values()) yield* objects.values();
  }
}
