import { createHash } from 'node:crypto';
import { type KindInfo, Kinds } from '../../../core/kinds.ts';
import { groupOf } from '../../../core/resource.ts';
import { Schemas } from '../../../core/schemas/index.ts';
import { KUBERNETES_VERSION } from './discovery.ts';
import { apiPrefix } from './paths.ts';

/**
 * Patch bodies announced per kind. Strategic merge patch is taken too, but
 * not announced: kubectl then sends it only for the kinds it has built in
 * (Service, ...) and a JSON merge patch for the rest.
 */
const PATCH_TYPES = ['application/merge-patch+json', 'application/apply-patch+yaml'];

const byApiVersion = new Map<string, KindInfo[]>();
for (const info of Object.values(Kinds)) {
  byApiVersion.set(info.apiVersion, [...(byApiVersion.get(info.apiVersion) ?? []), info]);
}

/** `api/v1`, `apis/<group>/<version>`: the keys of the OpenAPI v3 index. */
const indexKey = (apiVersion: string) => apiPrefix(apiVersion).slice(1);

const documents = new Map<string, { text: string; hash: string }>();
for (const [apiVersion, kinds] of byApiVersion) {
  const text = JSON.stringify(groupVersionDocument(apiVersion, kinds));
  documents.set(indexKey(apiVersion), {
    text,
    hash: createHash('sha256').update(text).digest('hex').slice(0, 32).toUpperCase(),
  });
}

/**
 * The OpenAPI v3 documents at `pathname` (`/openapi/v3` and
 * `/openapi/v3/<api/v1 | apis/group/version>`) as JSON text, or undefined.
 * Each group-version lists its kinds' paths with the patch types and the
 * `fieldValidation` parameter, which is what kubectl reads before it
 * validates and applies, and the kinds' schemas.
 */
export function openApiDocument(pathname: string): string | undefined {
  if (pathname === '/openapi/v3' || pathname === '/openapi/v3/') {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const [key, document] of documents) {
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${document.hash}` };
    }
    return JSON.stringify({ paths });
  }
  if (!pathname.startsWith('/openapi/v3/')) return undefined;
  return documents.get(pathname.slice('/openapi/v3/'.length))?.text;
}

function schemaName(info: KindInfo): string {
  const group = groupOf(info.apiVersion) || 'core';
  const version = info.apiVersion.split('/').at(-1);
  return `${group}.${version}.${info.kind}`;
}

function groupVersionDocument(apiVersion: string, kinds: KindInfo[]) {
  const group = groupOf(apiVersion);
  const version = apiVersion.split('/').at(-1) as string;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const info of kinds) {
    const gvk = { group, version, kind: info.kind };
    const ref = { $ref: `#/components/schemas/${schemaName(info)}` };
    const ok = { description: 'OK', content: { 'application/json': { schema: ref } } };
    const base = `${apiPrefix(apiVersion)}${info.namespaced ? '/namespaces/{namespace}' : ''}/${info.plural}`;
    const pathParameters = [
      ...(info.namespaced
        ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string' } }]
        : []),
      { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
    ];
    paths[base] = {
      get: {
        operationId: `list${info.kind}`,
        'x-kubernetes-action': 'list',
        'x-kubernetes-group-version-kind': gvk,
        responses: { '200': { description: 'OK' } },
      },
      post: {
        operationId: `create${info.kind}`,
        'x-kubernetes-action': 'post',
        'x-kubernetes-group-version-kind': gvk,
        parameters: [fieldValidation()],
        requestBody: { content: { 'application/json': { schema: ref } } },
        responses: { '201': ok },
      },
    };
    paths[`${base}/{name}`] = {
      parameters: pathParameters,
      get: {
        operationId: `read${info.kind}`,
        'x-kubernetes-action': 'get',
        'x-kubernetes-group-version-kind': gvk,
        responses: { '200': ok },
      },
      put: {
        operationId: `replace${info.kind}`,
        'x-kubernetes-action': 'put',
        'x-kubernetes-group-version-kind': gvk,
        parameters: [fieldValidation()],
        requestBody: { content: { 'application/json': { schema: ref } } },
        responses: { '200': ok },
      },
      patch: {
        operationId: `patch${info.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
        parameters: [
          fieldValidation(),
          { name: 'fieldManager', in: 'query', schema: { type: 'string' } },
          { name: 'force', in: 'query', schema: { type: 'boolean' } },
        ],
        requestBody: {
          content: Object.fromEntries(PATCH_TYPES.map((type) => [type, { schema: { type: 'object' } }])),
        },
        responses: { '200': ok },
      },
      delete: {
        operationId: `delete${info.kind}`,
        'x-kubernetes-action': 'delete',
        'x-kubernetes-group-version-kind': gvk,
        responses: { '200': { description: 'OK' } },
      },
    };
    const name = Object.entries(Kinds).find(([, k]) => k === info)?.[0] as keyof typeof Schemas;
    schemas[schemaName(info)] = { ...Schemas[name], 'x-kubernetes-group-version-kind': [gvk] };
  }
  return {
    openapi: '3.0.0',
    info: {
      title: 'Strait local store API',
      version: `v${KUBERNETES_VERSION.major}.${KUBERNETES_VERSION.minor}.0`,
    },
    paths,
    components: { schemas },
  };
}

function fieldValidation() {
  return {
    name: 'fieldValidation',
    in: 'query',
    description: 'Accepted for kubectl; unknown fields are always refused.',
    schema: { type: 'string', uniqueItems: true },
  };
}
