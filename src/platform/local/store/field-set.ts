import { isPlainObject } from './merge-patch.ts';

/** A field path: `['spec', 'ports']`. Lists are owned as a whole. */
export type FieldPath = readonly string[];

/** Fields no manager owns: identity and what the store itself writes. */
const UNOWNED = new Set([
  'apiVersion',
  'kind',
  'status',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'metadata.resourceVersion',
  'metadata.generation',
  'metadata.creationTimestamp',
  'metadata.deletionTimestamp',
  'metadata.managedFields',
]);

/** Every leaf field set in `object`: scalars, lists, and empty maps. */
export function fieldPaths(object: Record<string, unknown>): FieldPath[] {
  const paths: FieldPath[] = [];
  const walk = (value: unknown, path: string[]) => {
    if (path.length > 0 && UNOWNED.has(path.join('.'))) return;
    if (isPlainObject(value) && (Object.keys(value).length > 0 || path.length === 0)) {
      for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
    } else paths.push(path);
  };
  walk(object, []);
  return paths;
}

export function pathKey(path: FieldPath): string {
  return JSON.stringify(path);
}

/** `spec.ports`, for messages. */
export function formatPath(path: FieldPath): string {
  return path.join('.');
}

/** Whether setting `field` to `value` would touch the owned field `owned`. */
export function touches(field: FieldPath, value: unknown, owned: FieldPath): boolean {
  if (!overlaps(field, owned)) return false;
  return field.length >= owned.length || !(isPlainObject(value) && Object.keys(value).length === 0);
}

/** Whether one path is the other or contains it. */
export function overlaps(a: FieldPath, b: FieldPath): boolean {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function valueAt(object: unknown, path: FieldPath): unknown {
  let value = object;
  for (const key of path) {
    if (!isPlainObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

export function setAt(object: Record<string, unknown>, path: FieldPath, value: unknown): void {
  let target = object;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(target[key])) target[key] = {};
    target = target[key] as Record<string, unknown>;
  }
  const key = path.at(-1) as string;
  // An empty map only asserts that the map exists; it does not clear what others set in it.
  if (isPlainObject(value) && Object.keys(value).length === 0 && isPlainObject(target[key])) return;
  target[key] = structuredClone(value);
}

/** Removes a field, and any map it leaves empty below the top level. */
export function removeAt(object: Record<string, unknown>, path: FieldPath): void {
  const parents: Record<string, unknown>[] = [];
  let target: unknown = object;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(target)) return;
    parents.push(target);
    target = target[key];
  }
  if (!isPlainObject(target)) return;
  delete target[path.at(-1) as string];
  for (let depth = path.length - 2; depth >= 1; depth--) {
    const parent = parents[depth] as Record<string, unknown>;
    const key = path[depth] as string;
    if (isPlainObject(parent[key]) && Object.keys(parent[key]).length === 0) delete parent[key];
    else break;
  }
}

/** Kubernetes' FieldsV1 form: `{ "f:spec": { "f:ports": {} } }`. */
export function toFieldsV1(paths: readonly FieldPath[]): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const path of paths) {
    let node = tree;
    for (const key of path) {
      const name = `f:${key}`;
      node[name] ??= {};
      node = node[name] as Record<string, unknown>;
    }
  }
  return tree;
}

export function fromFieldsV1(tree: unknown): FieldPath[] {
  const paths: FieldPath[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (!isPlainObject(node)) return;
    const children = Object.keys(node).filter((k) => k.startsWith('f:'));
    if (children.length === 0 && path.length > 0) paths.push(path);
    for (const key of children) walk(node[key], [...path, key.slice(2)]);
  };
  walk(tree, []);
  return paths;
}
