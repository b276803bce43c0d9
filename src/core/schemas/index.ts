import type { KindName } from '../kinds.ts';
import { Kinds, kindInfo } from '../kinds.ts';
import type { KindRef, Resource } from '../resource.ts';
import { kindKey } from '../resource.ts';
import type { FieldError } from '../store.ts';
import {
  ConfigMapSchema,
  EndpointsSchema,
  EventSchema,
  NamespaceSchema,
  PodSchema,
  SecretSchema,
  ServiceAccountSchema,
  ServiceSchema,
} from './core.ts';
import { withDefaults } from './defaults.ts';
import { WorkloadSchema } from './local.ts';
import { validateMetadata } from './metadata.ts';
import { LinkSchema } from './multicluster.ts';
import {
  AuthorizationPolicySchema,
  MeshTLSAuthenticationSchema,
  NetworkAuthenticationSchema,
  ServerSchema,
} from './policy.ts';
import { RoleBindingSchema, RoleSchema } from './rbac.ts';
import type { Schema } from './schema.ts';
import { HTTPRouteSchema, TrafficSplitSchema } from './traffic.ts';
import { validateValue } from './validate.ts';

export { withDefaults } from './defaults.ts';
export type { NameRule } from './metadata.ts';
export { checkName, checkQualifiedName, nameRuleOf, validateMetadata } from './metadata.ts';
export * as Patterns from './patterns.ts';
export type { Schema } from './schema.ts';
export { validateValue } from './validate.ts';

/** The schema of every registered kind: the whole object, as a CRD's `openAPIV3Schema`. */
export const Schemas: Readonly<Record<KindName, Schema>> = {
  Namespace: NamespaceSchema,
  ServiceAccount: ServiceAccountSchema,
  Service: ServiceSchema,
  Endpoints: EndpointsSchema,
  Secret: SecretSchema,
  ConfigMap: ConfigMapSchema,
  Event: EventSchema,
  Pod: PodSchema,
  Workload: WorkloadSchema,
  Link: LinkSchema,
  TrafficSplit: TrafficSplitSchema,
  HTTPRoute: HTTPRouteSchema,
  Server: ServerSchema,
  AuthorizationPolicy: AuthorizationPolicySchema,
  MeshTLSAuthentication: MeshTLSAuthenticationSchema,
  NetworkAuthentication: NetworkAuthenticationSchema,
  Role: RoleSchema,
  RoleBinding: RoleBindingSchema,
  ClusterRole: RoleSchema,
  ClusterRoleBinding: RoleBindingSchema,
};

const byKind = new Map<string, Schema>(
  Object.entries(Schemas).map(([name, schema]) => [kindKey(Kinds[name as KindName]), schema]),
);

/** The schema of a kind, or undefined for a kind that is not registered. */
export function schemaFor(kind: KindRef): Schema | undefined {
  return byKind.get(kindKey(kind));
}

/** `object` with its kind's schema defaults filled in. */
export function defaulted<T extends Resource>(object: T): T {
  const schema = schemaFor(object);
  return schema ? withDefaults(schema, object) : object;
}

/**
 * Everything wrong with `object`: an unknown kind, metadata (names, labels,
 * annotations, finalizers, owner references) and the kind's schema.
 */
export function validateResource(object: Resource): FieldError[] {
  const info = kindInfo(object);
  const schema = schemaFor(object);
  if (!info || !schema) {
    return [
      { field: 'kind', reason: `${object.kind} of apiVersion ${object.apiVersion} is not a known kind` },
    ];
  }
  return [...validateMetadata(object.metadata, info), ...validateValue(schema, object)];
}
