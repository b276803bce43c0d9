import { isDeepStrictEqual } from 'node:util';
import type { Schema } from '../../../core/schemas/index.ts';
import { type FieldError, InvalidError } from '../../../core/store.ts';
import { isPlainObject } from './merge-patch.ts';

const ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

/** Object metadata's lists, as Kubernetes merges them. */
const METADATA_SCHEMA: Schema = {
  type: 'object',
  properties: {
    finalizers: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
    ownerReferences: {
      type: 'array',
      items: { type: 'object' },
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['uid'],
    },
  },
};

/**
 * Kubernetes' strategic merge patch, as kubectl's client-side apply sends it
 * for built-in kinds: maps merge as in a JSON merge patch; lists the schema
 * marks `map` merge item by item on their keys (`$patch: delete` removes an
 * item) and `set` lists by value; `$setElementOrder/`, `$deleteFromPrimitiveList/`,
 * `$retainKeys` and `$patch: replace|delete` are honoured. A list merged by
 * key on the client but atomic here is refused (InvalidError naming it)
 * rather than half replaced.
 */
export function strategicMergePatch(
  what: string,
  target: unknown,
  patch: unknown,
  schema: Schema | undefined,
): unknown {
  const errors: FieldError[] = [];
  const result = mergeMap(target, patch, schema, '', true, errors);
  if (errors.length > 0) throw new InvalidError(what, errors);
  return result;
}

function mergeMap(
  target: unknown,
  patch: unknown,
  schema: Schema | undefined,
  at: string,
  root: boolean,
  errors: FieldError[],
): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  const fields = Object.fromEntries(Object.entries(patch).filter(([key]) => !key.startsWith('$')));
  if (directive === 'replace') return structuredClone(fields);
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  for (const [key, value] of Object.entries(fields)) {
    const path = at === '' ? key : `${at}.${key}`;
    const child =
      root && key === 'metadata'
        ? METADATA_SCHEMA
        : (schema?.properties?.[key] ?? schema?.additionalProperties);
    if (value === null) delete result[key];
    else if (Array.isArray(value)) result[key] = mergeList(result[key], value, child, path, errors);
    else {
      const merged = mergeMap(result[key], value, child, path, false, errors);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    }
  }
  for (const [key, values] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM) && Array.isArray(values)) {
      const field = key.slice(DELETE_FROM.length);
      const list = result[field];
      if (Array.isArray(list))
        result[field] = list.filter((item) => !values.some((v) => isDeepStrictEqual(v, item)));
    }
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(ORDER) || !Array.isArray(order)) continue;
    const field = key.slice(ORDER.length);
    const child = schema?.properties?.[field] ?? schema?.additionalProperties;
    const list = result[field];
    if (child?.['x-kubernetes-list-type'] !== 'map' && child?.['x-kubernetes-list-type'] !== 'set') {
      errors.push({
        field: at === '' ? field : `${at}.${field}`,
        reason: 'is merged by key by the client but is one value here; change it with server-side apply',
      });
    } else if (Array.isArray(list)) result[field] = ordered(list, order, listKeys(child));
  }
  return result;
}

function listKeys(schema: Schema | undefined): string[] | undefined {
  return schema?.['x-kubernetes-list-type'] === 'map' ? schema['x-kubernetes-list-map-keys'] : undefined;
}

function mergeList(
  target: unknown,
  patch: unknown[],
  schema: Schema | undefined,
  at: string,
  errors: FieldError[],
): unknown[] {
  const keys = listKeys(schema);
  const current = Array.isArray(target) ? [...target] : [];
  if (schema?.['x-kubernetes-list-type'] === 'set') {
    for (const value of patch)
      if (!current.some((item) => isDeepStrictEqual(item, value))) current.push(value);
    return current;
  }
  if (!keys) {
    if (patch.some((item) => isPlainObject(item) && Object.keys(item).some((k) => k.startsWith('$')))) {
      errors.push({
        field: at,
        reason: 'is merged by key by the client but is one value here; change it with server-side apply',
      });
    }
    return structuredClone(patch);
  }
  const defaults = (item: Record<string, unknown>) => {
    const filled = { ...item };
    for (const key of keys) {
      const fallback = schema?.items?.properties?.[key]?.default;
      if (filled[key] === undefined && fallback !== undefined) filled[key] = fallback;
    }
    return filled;
  };
  const sameItem = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    keys.every((key) => isDeepStrictEqual(a[key], b[key]));
  for (const entry of patch) {
    if (!isPlainObject(entry)) {
      errors.push({ field: at, reason: 'items of a list merged by key must be objects' });
      continue;
    }
    const item = defaults(entry);
    const index = current.findIndex(
      (existing) => isPlainObject(existing) && sameItem(defaults(existing), item),
    );
    if (entry.$patch === 'delete') {
      if (index !== -1) current.splice(index, 1);
    } else if (index === -1) current.push(mergeMap(undefined, entry, schema?.items, at, false, errors));
    else current[index] = mergeMap(current[index], entry, schema?.items, at, false, errors);
  }
  return current;
}

/** `list` in the order `order` gives (by key, or by value); items it does not name keep their place after. */
function ordered(list: unknown[], order: unknown[], keys: string[] | undefined): unknown[] {
  const position = (item: unknown) =>
    order.findIndex((wanted) =>
      keys && isPlainObject(wanted) && isPlainObject(item)
        ? keys.every((key) => wanted[key] === undefined || isDeepStrictEqual(wanted[key], item[key]))
        : isDeepStrictEqual(wanted, item),
    );
  const named = list.filter((item) => position(item) !== -1).sort((a, b) => position(a) - position(b));
  return [...named, ...list.filter((item) => position(item) === -1)];
}
