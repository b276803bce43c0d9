import { StraitError } from '../../../core/errors.ts';
import { type KindInfo, Kinds } from '../../../core/kinds.ts';
import { groupOf } from '../../../core/resource.ts';

/** A request path of the store API, taken apart. */
export interface ApiPath {
  kind: KindInfo;
  /** Absent for cluster-scoped kinds and for lists across every namespace. */
  namespace?: string;
  name?: string;
  /** `status`, or `token` for a ServiceAccount's TokenRequest. */
  subresource?: string;
}

const byGroupVersionPlural = new Map<string, KindInfo>(
  Object.values(Kinds).map((info) => [`${info.apiVersion}/${info.plural}`, info]),
);

/** The REST prefix of a kind: `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export function apiPrefix(apiVersion: string): string {
  return groupOf(apiVersion) === '' ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
}

/** Builds `/api/v1/namespaces/ns/services/name/status` and its shorter forms. */
export function resourcePath(
  kind: KindInfo,
  where: { namespace?: string | undefined; name?: string | undefined; subresource?: string | undefined } = {},
): string {
  let path = apiPrefix(kind.apiVersion);
  if (kind.namespaced && where.namespace) path += `/namespaces/${encodeURIComponent(where.namespace)}`;
  path += `/${kind.plural}`;
  if (where.name) path += `/${encodeURIComponent(where.name)}`;
  if (where.name && where.subresource) path += `/${where.subresource}`;
  return path;
}

class BadPathError extends StraitError {
  constructor(path: string, reason: string) {
    super('E_API_PATH', `${path}: ${reason}`);
    this.name = 'BadPathError';
  }
}

/** Parses a request path; throws E_API_PATH (404 to the caller) for anything it does not serve. */
export function parseApiPath(pathname: string): ApiPath {
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let apiVersion: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    apiVersion = parts[1] as string;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    apiVersion = `${parts[1]}/${parts[2]}`;
    rest = parts.slice(3);
  } else {
    throw new BadPathError(pathname, 'not a resource path');
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && byGroupVersionPlural.has(`${apiVersion}/${rest[2]}`)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const kind = byGroupVersionPlural.get(`${apiVersion}/${rest[0]}`);
  if (!kind) throw new BadPathError(pathname, `the server does not serve "${rest[0]}" in ${apiVersion}`);
  if (rest.length > 3) throw new BadPathError(pathname, 'too many path segments');
  if (namespace !== undefined && !kind.namespaced) {
    throw new BadPathError(pathname, `${kind.kind} is not namespaced`);
  }
  const result: ApiPath = { kind };
  if (namespace !== undefined) result.namespace = namespace;
  if (rest[1] !== undefined) result.name = rest[1];
  if (rest[2] !== undefined) result.subresource = rest[2];
  return result;
}
