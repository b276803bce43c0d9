import type { KindInfo } from '../../core/kinds.ts';
import { groupOf } from '../../core/resource.ts';

/** The REST prefix of an apiVersion: `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export function apiPrefix(apiVersion: string): string {
  return groupOf(apiVersion) === '' ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
}

/** Where a request goes: a collection (no name), an object, or one of its subresources. */
export interface PathTarget {
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: 'status' | 'token';
}

/** Builds `/api/v1/namespaces/ns/services/name/status` and its shorter forms. */
export function resourcePath(kind: KindInfo, target: PathTarget = {}): string {
  let path = apiPrefix(kind.apiVersion);
  if (kind.namespaced && target.namespace) path += `/namespaces/${encodeURIComponent(target.namespace)}`;
  path += `/${kind.plural}`;
  if (target.name) path += `/${encodeURIComponent(target.name)}`;
  if (target.name && target.subresource) path += `/${target.subresource}`;
  return path;
}
