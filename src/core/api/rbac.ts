import type { Resource } from '../resource.ts';

/** RBAC kinds (`rbac.authorization.k8s.io/v1`), in the shape Kubernetes uses. */

export type RbacVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | '*';

export interface PolicyRule {
  verbs: string[];
  /** '' is the core group; '*' any group. */
  apiGroups?: string[];
  /** Plurals, `plural/subresource` (`serviceaccounts/token`) or '*'. */
  resources?: string[];
  /** When present, the rule applies only to these object names. */
  resourceNames?: string[];
}

export interface Role extends Resource<never, never> {
  rules?: PolicyRule[];
}

export type ClusterRole = Role;

export interface RoleRef {
  apiGroup: string;
  kind: 'Role' | 'ClusterRole';
  name: string;
}

export interface Subject {
  kind: 'ServiceAccount' | 'User' | 'Group';
  name: string;
  /** Required for ServiceAccount subjects. */
  namespace?: string;
  apiGroup?: string;
}

export interface RoleBinding extends Resource<never, never> {
  roleRef: RoleRef;
  subjects?: Subject[];
}

export type ClusterRoleBinding = RoleBinding;
