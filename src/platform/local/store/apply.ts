import { isDeepStrictEqual } from 'node:util';
import type { Resource } from '../../../core/resource.ts';
import { describeRef, refOf } from '../../../core/resource.ts';
import { schemaFor } from '../../../core/schemas/index.ts';
import type { ApplyOptions } from '../../../core/store.ts';
import { ConflictError, InvalidError } from '../../../core/store.ts';
import type { FieldPath } from './field-set.ts';
import {
  fieldPaths,
  formatPath,
  fromFieldsV1,
  holds,
  isExistence,
  itemPaths,
  pathKey,
  removeAt,
  setAt,
  toFieldsV1,
  touches,
  valueAt,
  withListKeys,
} from './field-set.ts';
import { copyJson } from './json-copy.ts';
import { isPlainObject } from './merge-patch.ts';

/** One manager's entry in `metadata.managedFields`, in Kubernetes' shape. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
}

/**
 * Server-side apply of `applied` (the manager's whole intent) onto `current`.
 * The manager owns exactly the fields it sends: fields it sent before and
 * omits now are removed unless another manager owns them; a field another
 * manager owns with a different value is a conflict unless `force`, which
 * takes it over. Lists the kind's schema marks as `map` or `set` lists merge
 * item by item, so managers can own different items of one list; other lists
 * are one field. Returns the object to store, with updated managedFields.
 */
export function applyConfiguration(
  current: Resource | undefined,
  configuration: Resource,
  options: ApplyOptions,
  time: string,
): Resource {
  const what = describeRef(refOf(configuration));
  const schema = schemaFor(configuration);
  const applied = withListKeys(schema, configuration);
  if (typeof options.fieldManager !== 'string' || options.fieldManager === '') {
    throw new InvalidError(what, [{ field: 'fieldManager', reason: 'is required for apply' }]);
  }
  const managers = new Map<string, { entry: ManagedFieldsEntry; paths: FieldPath[] }>();
  for (const entry of (current?.metadata.managedFields ?? []) as ManagedFieldsEntry[]) {
    if (isPlainObject(entry) && typeof entry.manager === 'string') {
      managers.set(entry.manager, { entry, paths: itemPaths(fromFieldsV1(entry.fieldsV1), current, schema) });
    }
  }
  const { paths: wanted, errors } = fieldPaths(applied as Record<string, unknown>, schema);
  if (errors.length > 0) throw new InvalidError(what, errors);
  // A list item's own path only says it exists: it needs no value and conflicts with nobody.
  const wantedValue = (field: FieldPath) => (isExistence(field) ? {} : valueAt(applied, field));
  const previous = managers.get(options.fieldManager)?.paths ?? [];
  const previousEntry = managers.get(options.fieldManager)?.entry;
  managers.delete(options.fieldManager);

  const conflicts: string[] = [];
  for (const [manager, owned] of managers) {
    const kept: FieldPath[] = [];
    for (const path of owned.paths) {
      if (isExistence(path)) {
        kept.push(path);
        continue;
      }
      const clash = wanted.find(
        (field) =>
          !isExistence(field) &&
          touches(field, wantedValue(field), path) &&
          !isDeepStrictEqual(valueAt(current, field), valueAt(applied, field)),
      );
      if (clash === undefined) kept.push(path);
      else if (options.force) continue;
      else conflicts.push(`${formatPath(clash)} (owned by ${manager})`);
    }
    owned.paths = kept;
  }
  if (conflicts.length > 0) {
    throw new ConflictError(
      what,
      current?.metadata.resourceVersion,
      `apply by ${options.fieldManager} conflicts on ${conflicts.join(', ')}; apply with force to take them over`,
    );
  }

  const result = copyJson(
    current ?? { apiVersion: applied.apiVersion, kind: applied.kind, metadata: { name: '' } },
  );
  const wantedKeys = new Set(wanted.map(pathKey));
  for (const path of previous) {
    if (wantedKeys.has(pathKey(path)) || wanted.some((field) => touches(field, wantedValue(field), path)))
      continue;
    const sharedWith = [...managers.values()].some((m) => m.paths.some((p) => holds(p, path)));
    if (!sharedWith) removeAt(result as Record<string, unknown>, path);
  }
  for (const path of wanted) setAt(result as Record<string, unknown>, path, wantedValue(path));
  result.apiVersion = applied.apiVersion;
  result.kind = applied.kind;
  result.metadata.name = applied.metadata.name;
  if (applied.metadata.namespace) result.metadata.namespace = applied.metadata.namespace;
  if (applied.metadata.resourceVersion !== undefined) {
    result.metadata.resourceVersion = applied.metadata.resourceVersion;
  }

  const entries: ManagedFieldsEntry[] = [];
  for (const { entry, paths } of managers.values()) {
    if (paths.length > 0) entries.push({ ...entry, fieldsV1: toFieldsV1(paths) });
  }
  if (wanted.length > 0) {
    const fieldsV1 = toFieldsV1(wanted);
    // Applying what is already there changes nothing, not even the time: the store then writes nothing.
    const noOp =
      current !== undefined &&
      previousEntry?.operation === 'Apply' &&
      previousEntry.apiVersion === applied.apiVersion &&
      isDeepStrictEqual(previousEntry.fieldsV1, fieldsV1) &&
      isDeepStrictEqual(withoutManagedFields(result), withoutManagedFields(current));
    entries.push({
      manager: options.fieldManager,
      operation: 'Apply',
      apiVersion: applied.apiVersion,
      time: noOp ? previousEntry.time : time,
      fieldsType: 'FieldsV1',
      fieldsV1,
    });
  }
  if (entries.length > 0) result.metadata.managedFields = entries;
  else delete result.metadata.managedFields;
  return result;
}

function withoutManagedFields(object: Resource): Resource {
  const { managedFields: _, resourceVersion: __, ...metadata } = object.metadata;
  return { ...object, metadata };
}
