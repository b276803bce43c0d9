import { type KindName, Kinds } from '../../core/kinds.ts';
import type { Resource } from '../../core/resource.ts';
import { groupOf } from '../../core/resource.ts';
import { type Schema, Schemas } from '../../core/schemas/index.ts';

/**
 * The kinds Strait installs as CustomResourceDefinitions. Core kinds are the
 * cluster's own; Workload exists only on the local platform; HTTPRoute
 * belongs to the Gateway API, whose own CRDs a cluster installs.
 */
export const CRD_KINDS = [
  'Link',
  'TrafficSplit',
  'Server',
  'AuthorizationPolicy',
  'MeshTLSAuthentication',
  'NetworkAuthentication',
] as const satisfies readonly KindName[];

export type CrdKindName = (typeof CRD_KINDS)[number];

/** A CustomResourceDefinition manifest. */
export interface CustomResourceDefinition extends Resource {
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
      categories: string[];
    };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: Schema };
      subresources?: { status: Record<string, never> };
    }[];
  };
}

/**
 * The CRD of one kind, its `openAPIV3Schema` taken from the same schema the
 * local platform validates with, so both platforms accept the same objects.
 */
export function customResourceDefinition(name: CrdKindName): CustomResourceDefinition {
  const info = Kinds[name];
  const group = groupOf(info.apiVersion);
  const version = info.apiVersion.slice(group.length + 1);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${info.plural}.${group}`, labels: { 'app.kubernetes.io/part-of': 'strait' } },
    spec: {
      group,
      scope: info.namespaced ? 'Namespaced' : 'Cluster',
      names: {
        kind: info.kind,
        listKind: `${info.kind}List`,
        plural: info.plural,
        singular: info.kind.toLowerCase(),
        ...(info.shortNames.length > 0 ? { shortNames: [...info.shortNames] } : {}),
        categories: ['strait'],
      },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: structuredClone(Schemas[name]) },
          ...(info.hasStatus ? { subresources: { status: {} } } : {}),
        },
      ],
    },
  };
}

/** Every CRD Strait installs, in a stable order. */
export function customResourceDefinitions(): CustomResourceDefinition[] {
  return CRD_KINDS.map(customResourceDefinition);
}
