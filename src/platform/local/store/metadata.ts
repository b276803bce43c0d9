import { isDeepStrictEqual } from 'node:util';
import type { ObjectMeta, Resource } from '../../../core/resource.ts';
import { ConflictError } from '../../../core/store.ts';

/** Metadata fields only the store sets; what a client sends for them is ignored. */
const SERVER_FIELDS = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
] as const;

let lastTimestamp = '';

/** RFC 3339 with seconds, as Kubernetes writes timestamps; one string per second, shared by its objects. */
export function timestamp(now: Date = new Date()): string {
  const text = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (text !== lastTimestamp) lastTimestamp = text;
  return lastTimestamp;
}

/** A copy of `metadata` without the fields the store owns. */
export function clientMetadata(metadata: ObjectMeta): ObjectMeta {
  const copy: ObjectMeta = { ...metadata };
  for (const field of SERVER_FIELDS) delete copy[field];
  delete copy.managedFields;
  return copy;
}

/** Everything but metadata and status: a change here is a new generation. */
export function specOf(object: Resource): Record<string, unknown> {
  const { metadata: _metadata, status: _status, ...rest } = object;
  return rest;
}

/** Whether a write would change nothing but the resourceVersion. */
export function sameObject(a: Resource, b: Resource): boolean {
  const strip = (object: Resource) => ({
    ...object,
    metadata: { ...object.metadata, resourceVersion: undefined },
  });
  return isDeepStrictEqual(strip(a), strip(b));
}

/** Fails with ConflictError when the object is not at the wanted resourceVersion or uid. */
export function checkPreconditions(
  what: string,
  current: Resource,
  wanted: { resourceVersion?: string | undefined; uid?: string | undefined },
): void {
  const rv = current.metadata.resourceVersion;
  if (wanted.resourceVersion !== undefined && wanted.resourceVersion !== rv) {
    throw new ConflictError(what, rv, `resourceVersion ${wanted.resourceVersion} is not the current one`);
  }
  if (wanted.uid !== undefined && wanted.uid !== current.metadata.uid) {
    throw new ConflictError(what, rv, `uid ${wanted.uid} does not match ${current.metadata.uid}`);
  }
}
