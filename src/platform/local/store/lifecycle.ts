import type { ObjectRef, Resource } from '../../../core/resource.ts';
import { describeRef, refOf } from '../../../core/resource.ts';
import type { DeleteOptions } from '../../../core/store.ts';
import { copyJson } from './json-copy.ts';
import { checkPreconditions, timestamp } from './metadata.ts';
import type { ObjectTable } from './object-table.ts';

/** Finalizer the store itself sets while deleting an owner's dependents first. */
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/** What deletion needs from the store: its objects, a way to record changes, and deferred work. */
export interface LifecycleHost {
  table: ObjectTable;
  commit(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Resource, previous?: Resource): Resource;
  background(work: () => void): void;
}

/**
 * How objects go: finalizers hold them marked for deletion; owner references
 * take dependents with them (in the background, or first when asked, or not
 * at all for orphans); a namespace empties before it goes.
 */
export class Lifecycle {
  readonly #host: LifecycleHost;

  constructor(host: LifecycleHost) {
    this.#host = host;
  }

  /** Deletes or marks for deletion; false when there was nothing to delete. */
  delete(ref: ObjectRef, options: DeleteOptions): boolean {
    const current = this.#host.table.get(ref);
    if (!current) return false;
    checkPreconditions(describeRef(ref), current, options.preconditions ?? {});
    if (current.metadata.deletionTimestamp) return true;
    const uid = current.metadata.uid as string;
    const policy = options.propagationPolicy ?? 'Background';
    if (policy === 'Orphan') this.#orphanDependents(uid);
    const isNamespace = current.kind === 'Namespace' && current.apiVersion === 'v1';
    const finalizers = [...(current.metadata.finalizers ?? [])];
    if (policy === 'Foreground' && this.#dependentsOf(uid).length > 0) finalizers.push(FOREGROUND_FINALIZER);
    if (finalizers.length > 0 || isNamespace) {
      const marked: Resource = copyJson(current);
      marked.metadata.deletionTimestamp = timestamp();
      marked.metadata.generation = (current.metadata.generation ?? 1) + 1;
      if (finalizers.length > 0) marked.metadata.finalizers = finalizers;
      if (isNamespace) marked.status = { ...(marked.status as object), phase: 'Terminating' };
      this.#host.commit('MODIFIED', marked, current);
      if (isNamespace) this.#host.background(() => this.#emptyNamespace(ref.name));
      if (policy === 'Foreground') this.#host.background(() => this.#collectDependents(uid));
      if (isNamespace) this.finalizeIfDone(marked);
      return true;
    }
    this.#remove(current);
    return true;
  }

  /** Removes an object for good, then collects what depended on it. */
  #remove(object: Resource): void {
    const removed = copyJson(object);
    this.#host.commit('DELETED', removed, object);
    const uid = object.metadata.uid as string;
    this.#host.background(() => this.#collectDependents(uid));
    this.#host.background(() => this.#afterRemoval(removed));
  }

  /** Deletes an object marked for deletion once nothing holds it; returns the object when it was deleted. */
  finalizeIfDone(object: Resource): Resource | undefined {
    const current = this.#host.table.get(refOf(object));
    if (!current?.metadata.deletionTimestamp || (current.metadata.finalizers?.length ?? 0) > 0)
      return undefined;
    if (
      current.kind === 'Namespace' &&
      current.apiVersion === 'v1' &&
      this.#namespaceHasObjects(current.metadata.name)
    ) {
      return undefined;
    }
    this.#remove(current);
    return current;
  }

  #afterRemoval(object: Resource): void {
    const namespace = object.metadata.namespace;
    if (namespace) {
      const ns = this.#host.table.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace });
      if (ns) this.finalizeIfDone(ns);
    }
    for (const owner of object.metadata.ownerReferences ?? []) this.#releaseForegroundOwner(owner.uid);
  }

  /** An owner deleted in the foreground goes once its last dependent has. */
  #releaseForegroundOwner(uid: string): void {
    const current = this.#byUid(uid);
    if (!current?.metadata.finalizers?.includes(FOREGROUND_FINALIZER)) return;
    if (this.#dependentsOf(uid).length > 0) return;
    const released: Resource = copyJson(current);
    const finalizers = current.metadata.finalizers.filter((f) => f !== FOREGROUND_FINALIZER);
    if (finalizers.length > 0) released.metadata.finalizers = finalizers;
    else delete released.metadata.finalizers;
    this.#host.commit('MODIFIED', released, current);
    this.finalizeIfDone(released);
  }

  /** Deletes dependents whose owners are all gone; drops the reference where another owner remains. */
  #collectDependents(uid: string): void {
    for (const dependent of this.#dependentsOf(uid)) {
      const others =
        dependent.metadata.ownerReferences?.filter((r) => r.uid !== uid && this.#byUid(r.uid)) ?? [];
      if (others.length === 0) this.delete(refOf(dependent), {});
      else this.#dropOwner(dependent, uid);
    }
  }

  #orphanDependents(uid: string): void {
    for (const dependent of this.#dependentsOf(uid)) this.#dropOwner(dependent, uid);
  }

  #dropOwner(dependent: Resource, uid: string): void {
    const next: Resource = copyJson(dependent);
    const remaining = dependent.metadata.ownerReferences?.filter((r) => r.uid !== uid) ?? [];
    if (remaining.length > 0) next.metadata.ownerReferences = remaining;
    else delete next.metadata.ownerReferences;
    this.#host.commit('MODIFIED', next, dependent);
  }

  #emptyNamespace(name: string): void {
    for (const object of this.#host.table.inNamespace(name)) this.delete(refOf(object), {});
  }

  /** After a restart: finishes deletions and collection that were under way. */
  resume(): void {
    for (const object of [...this.#host.table.all()]) {
      if (this.#isDangling(object)) this.delete(refOf(object), {});
    }
    for (const object of [...this.#host.table.all()]) {
      if (!object.metadata.deletionTimestamp) continue;
      if (object.kind === 'Namespace' && object.apiVersion === 'v1')
        this.#emptyNamespace(object.metadata.name);
      if (object.metadata.finalizers?.includes(FOREGROUND_FINALIZER)) {
        this.#collectDependents(object.metadata.uid as string);
        this.#releaseForegroundOwner(object.metadata.uid as string);
      }
      this.finalizeIfDone(object);
    }
  }

  /** Like Kubernetes' collector, the store deletes an object whose owners are all gone. */
  collectIfDangling(object: Resource): void {
    if (!this.#isDangling(object)) return;
    const ref = refOf(object);
    const uid = object.metadata.uid;
    this.#host.background(() => {
      const current = this.#host.table.get(ref);
      if (current && current.metadata.uid === uid && this.#isDangling(current)) this.delete(ref, {});
    });
  }

  #isDangling(object: Resource): boolean {
    const owners = object.metadata.ownerReferences ?? [];
    return owners.length > 0 && owners.every((r) => !this.#byUid(r.uid));
  }

  #dependentsOf(uid: string): Resource[] {
    return this.#host.table.dependentsOf(uid);
  }

  #byUid(uid: string): Resource | undefined {
    return this.#host.table.byUid(uid);
  }

  #namespaceHasObjects(name: string): boolean {
    return this.#host.table.inNamespace(name).length > 0;
  }
}
