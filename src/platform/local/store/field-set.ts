import { isDeepStrictEqual } from 'node:util';
import type { Schema } from '../../../core/schemas/index.ts';
import type { FieldError } from '../../../core/store.ts';
import { isPlainObject } from './merge-patch.ts';

/**
 * A field path in Kubernetes' FieldsV1 notation, one element per step:
 * `f:name` a map field, `k:{"port":80,"protocol":"TCP"}` the item of a `map`
 * list with those keys, `v:"x"` the value of a `set` list, and `.` the list
 * item itself (it exists). Lists without a list type are owned as a whole.
 */
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

/** Object metadata's lists, merged as Kubernetes merges them. */
const METADATA_SCHEMA: Schema = {
  type: 'object',
  properties: {
    finalizers: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
    ownerReferences: {
      type: 'array',
      items: { type: 'object', required: ['uid'] },
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['uid'],
    },
  },
};

/** The schema of field `key` of an object with `schema` (at the root: metadata's own). */
function fieldSchema(schema: Schema | undefined, key: string, atRoot: boolean): Schema | undefined {
  if (atRoot && key === 'metadata') return METADATA_SCHEMA;
  return schema?.properties?.[key] ?? schema?.additionalProperties;
}

/** Keys of a `map` list, or undefined for lists merged otherwise. */
function mapKeys(schema: Schema | undefined): string[] | undefined {
  if (schema?.['x-kubernetes-list-type'] !== 'map') return undefined;
  const keys = schema['x-kubernetes-list-map-keys'];
  return keys && keys.length > 0 ? keys : undefined;
}

function isSet(schema: Schema | undefined): boolean {
  return schema?.['x-kubernetes-list-type'] === 'set';
}

/**
 * A copy of `value` whose `map` list items carry every key field, those left
 * out taking their schema default (as `protocol: TCP` of a port), so items
 * written with and without the default are the same item.
 */
export function withListKeys<T>(schema: Schema | undefined, value: T, atRoot = true): T {
  if (Array.isArray(value)) {
    const keys = mapKeys(schema);
    const items = schema?.items;
    return value.map((item) => {
      const next = items ? withListKeys(items, item, false) : item;
      if (!keys || !isPlainObject(next)) return next;
      const filled = { ...next };
      for (const key of keys) {
        const fallback = items?.properties?.[key]?.default;
        if (filled[key] === undefined && fallback !== undefined) filled[key] = structuredClone(fallback);
      }
      return filled;
    }) as T;
  }
  if (!isPlainObject(value)) return value;
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    result[key] = withListKeys(fieldSchema(schema, key, atRoot), child, false);
  }
  return result as T;
}

/**
 * Every leaf field set in `object`: scalars, atomic lists, empty maps, and
 * the items (and their fields) of `set` and `map` lists. Duplicate items of
 * such lists, and `map` items without their key fields, are errors.
 */
export function fieldPaths(
  object: Record<string, unknown>,
  schema: Schema | undefined,
): { paths: FieldPath[]; errors: FieldError[] } {
  return pathsFrom(object, schema, []);
}

/** fieldPaths of `value`, found at `start` in an object. */
function pathsFrom(
  value: unknown,
  schema: Schema | undefined,
  start: string[],
): { paths: FieldPath[]; errors: FieldError[] } {
  const paths: FieldPath[] = [];
  const errors: FieldError[] = [];
  const walk = (value: unknown, at: Schema | undefined, path: string[]) => {
    if (path.length > 0 && UNOWNED.has(dotted(path))) return;
    const keys = Array.isArray(value) ? mapKeys(at) : undefined;
    if (Array.isArray(value) && keys) {
      const seen = new Set<string>();
      value.forEach((item, index) => {
        const where = `${formatPath(path)}[${index}]`;
        const missing = keys.filter((key) => !isPlainObject(item) || item[key] === undefined);
        if (!isPlainObject(item) || missing.length > 0) {
          errors.push({ field: where, reason: `needs the key fields ${missing.join(', ')}` });
          return;
        }
        const element = itemElement(item, keys);
        if (seen.has(element)) {
          errors.push({ field: where, reason: `duplicates the item ${formatPath([element])}` });
          return;
        }
        seen.add(element);
        paths.push([...path, element, '.']);
        for (const [key, child] of Object.entries(item)) {
          walk(child, fieldSchema(at?.items, key, false), [...path, element, `f:${key}`]);
        }
      });
    } else if (Array.isArray(value) && isSet(at)) {
      const seen = new Set<string>();
      value.forEach((item, index) => {
        const element = `v:${JSON.stringify(item)}`;
        if (typeof item === 'object' && item !== null) {
          errors.push({ field: `${formatPath(path)}[${index}]`, reason: 'must be a scalar in a set list' });
        } else if (seen.has(element)) {
          errors.push({ field: `${formatPath(path)}[${index}]`, reason: `duplicates the value ${item}` });
        } else {
          seen.add(element);
          paths.push([...path, element]);
        }
      });
    } else if (isPlainObject(value) && (Object.keys(value).length > 0 || path.length === 0)) {
      for (const [key, child] of Object.entries(value)) {
        walk(child, fieldSchema(at, key, path.length === 0), [...path, `f:${key}`]);
      }
    } else paths.push(path);
  };
  walk(value, schema, start);
  return { paths, errors };
}

/** The schema of the field at `path`, if the schema describes it. */
function schemaAt(schema: Schema | undefined, path: FieldPath): Schema | undefined {
  let at = schema;
  for (const [index, element] of path.entries()) {
    if (element.startsWith('f:')) at = fieldSchema(at, element.slice(2), index === 0);
    else if (element !== '.') at = at?.items;
  }
  return at;
}

/**
 * Ownership recorded when a list was still one field (`f:ports` as a leaf),
 * as ownership of its current items, now that the schema merges it by item:
 * so a manager that owned the whole list still removes the items it drops.
 */
export function itemPaths(
  paths: readonly FieldPath[],
  current: unknown,
  schema: Schema | undefined,
): FieldPath[] {
  return paths.flatMap((path) => {
    const at = schemaAt(schema, path);
    const value = valueAt(current, path);
    if (!Array.isArray(value) || !(mapKeys(at) || isSet(at))) return [path];
    const expanded = pathsFrom(value, at, [...path]);
    return expanded.errors.length === 0 ? expanded.paths : [path];
  });
}

/** `k:{...}` of a map-list item: its key fields, sorted by name. */
function itemElement(item: Record<string, unknown>, keys: readonly string[]): string {
  const key: Record<string, unknown> = {};
  for (const name of [...keys].sort()) key[name] = item[name];
  return `k:${JSON.stringify(key)}`;
}

function dotted(path: FieldPath): string {
  return path.map((element) => (element.startsWith('f:') ? element.slice(2) : element)).join('.');
}

export function pathKey(path: FieldPath): string {
  return JSON.stringify(path);
}

/** `spec.ports[port=80,protocol="TCP"].name`, for messages. */
export function formatPath(path: FieldPath): string {
  let text = '';
  for (const element of path) {
    if (element.startsWith('f:')) text += `${text === '' ? '' : '.'}${element.slice(2)}`;
    else if (element.startsWith('k:')) {
      const key = JSON.parse(element.slice(2)) as Record<string, unknown>;
      text += `[${Object.entries(key)
        .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
        .join(',')}]`;
    } else if (element.startsWith('v:')) text += `[${element.slice(2)}]`;
  }
  return text;
}

/** Whether the path only says a list item exists (`.`, or a set value). */
export function isExistence(path: FieldPath): boolean {
  const last = path.at(-1) ?? '';
  return last === '.' || last.startsWith('v:');
}

/** The path of the field or list item itself, without a trailing `.`. */
function target(path: FieldPath): FieldPath {
  return path.at(-1) === '.' ? path.slice(0, -1) : path;
}

/** Whether setting `field` to `value` would touch the owned field `owned`. */
export function touches(field: FieldPath, value: unknown, owned: FieldPath): boolean {
  if (!overlaps(field, owned)) return false;
  return (
    target(field).length >= target(owned).length || !(isPlainObject(value) && Object.keys(value).length === 0)
  );
}

/** Whether one path is the other or contains it. */
export function overlaps(a: FieldPath, b: FieldPath): boolean {
  const left = target(a);
  const right = target(b);
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i++) if (left[i] !== right[i]) return false;
  return true;
}

/**
 * Whether a manager owning `owned` keeps `path` in place: a list item stays
 * while anyone owns it or a field of it, a field while anyone owns it or a
 * map around it. Owning an item's existence does not keep its fields.
 */
export function holds(owned: FieldPath, path: FieldPath): boolean {
  if (owned.at(-1) === '.') return pathKey(owned) === pathKey(path);
  return overlaps(owned, path);
}

/** The list item of `list` that `element` (`k:` or `v:`) names. */
function findItem(list: unknown[], element: string): number {
  const wanted = JSON.parse(element.slice(2)) as unknown;
  if (element.startsWith('v:')) return list.findIndex((item) => isDeepStrictEqual(item, wanted));
  const key = wanted as Record<string, unknown>;
  return list.findIndex(
    (item) => isPlainObject(item) && Object.entries(key).every(([k, v]) => isDeepStrictEqual(item[k], v)),
  );
}

function step(value: unknown, element: string): unknown {
  if (element === '.') return value;
  if (element.startsWith('f:')) return isPlainObject(value) ? value[element.slice(2)] : undefined;
  if (!Array.isArray(value)) return undefined;
  const index = findItem(value, element);
  return index === -1 ? undefined : value[index];
}

export function valueAt(object: unknown, path: FieldPath): unknown {
  let value = object;
  for (const element of path) {
    value = step(value, element);
    if (value === undefined) return undefined;
  }
  return value;
}

/** Sets a field, or adds the list item the path names (map items start with their key fields). */
export function setAt(object: Record<string, unknown>, path: FieldPath, value: unknown): void {
  let container: unknown = object;
  for (const [index, element] of path.entries()) {
    const last = index === path.length - 1;
    const next = path[index + 1];
    if (element === '.') return;
    if (element.startsWith('f:')) {
      const parent = container as Record<string, unknown>;
      const key = element.slice(2);
      if (last) {
        // An empty map only asserts that the map exists; it does not clear what others set in it.
        if (isPlainObject(value) && Object.keys(value).length === 0 && isPlainObject(parent[key])) return;
        parent[key] = structuredClone(value);
        return;
      }
      const wantsList = next !== undefined && !next.startsWith('f:');
      if (wantsList ? !Array.isArray(parent[key]) : !isPlainObject(parent[key]))
        parent[key] = wantsList ? [] : {};
      container = parent[key];
      continue;
    }
    const list = container as unknown[];
    let found = findItem(list, element);
    if (found === -1) {
      list.push(structuredClone(JSON.parse(element.slice(2))));
      found = list.length - 1;
    }
    container = list[found];
  }
}

/** Removes a field or list item, and any map or list it leaves empty below the top level. */
export function removeAt(object: Record<string, unknown>, path: FieldPath): void {
  const steps = target(path);
  const chain: unknown[] = [object];
  for (const element of steps.slice(0, -1)) {
    const value = step(chain.at(-1), element);
    if (value === undefined) return;
    chain.push(value);
  }
  if (!detach(chain.at(-1), steps.at(-1) as string)) return;
  for (let depth = steps.length - 1; depth >= 2; depth--) {
    const child = chain[depth];
    const empty = Array.isArray(child)
      ? child.length === 0
      : isPlainObject(child) && Object.keys(child).length === 0;
    if (!empty || !detach(chain[depth - 1], steps[depth - 1] as string)) break;
  }
}

/** Removes `element` from `container`; false when it was not there. */
function detach(container: unknown, element: string): boolean {
  if (element.startsWith('f:')) {
    if (!isPlainObject(container) || !(element.slice(2) in container)) return false;
    delete container[element.slice(2)];
    return true;
  }
  if (!Array.isArray(container)) return false;
  const index = findItem(container, element);
  if (index === -1) return false;
  container.splice(index, 1);
  return true;
}

/** Kubernetes' FieldsV1 form: `{ "f:spec": { "f:ports": { "k:{\"port\":80}": { ".": {} } } } }`. */
export function toFieldsV1(paths: readonly FieldPath[]): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const path of paths) {
    let node = tree;
    for (const element of path) {
      node[element] ??= {};
      node = node[element] as Record<string, unknown>;
    }
  }
  return tree;
}

const ELEMENT = /^(f:|k:|v:|\.$)/;

export function fromFieldsV1(tree: unknown): FieldPath[] {
  const paths: FieldPath[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (!isPlainObject(node)) return;
    const children = Object.keys(node).filter((key) => ELEMENT.test(key));
    if (children.length === 0 && path.length > 0) paths.push(path);
    for (const key of children) walk(node[key], [...path, key]);
  };
  walk(tree, []);
  return paths;
}
