import type { ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from '../../../core/api/rbac.ts';
import { Kinds } from '../../../core/kinds.ts';
import type { ResourceStore } from '../../../core/store.ts';

/** Who is calling, once authenticated. */
export interface UserInfo {
  /** `strait:admin`, or `system:serviceaccount:<ns>:<name>`. */
  name: string;
  groups: string[];
  serviceAccount?: { namespace: string; name: string };
}

/** What a request wants to do, in RBAC terms. */
export interface RequestAttributes {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  apiGroup: string;
  /** The plural, with `/subresource` when there is one (`serviceaccounts/token`). */
  resource: string;
  namespace?: string;
  name?: string;
}

/** Members of this group may do anything, as Kubernetes' `system:masters`. */
export const ADMIN_GROUP = 'system:masters';

/**
 * Decides a request by the Role, RoleBinding, ClusterRole and
 * ClusterRoleBinding objects in the store, with Kubernetes' semantics:
 * permissions only add up, a RoleBinding grants only in its namespace, and
 * `resourceNames` never matches list, watch or create.
 */
export async function authorize(
  store: ResourceStore,
  user: UserInfo,
  request: RequestAttributes,
): Promise<boolean> {
  if (user.groups.includes(ADMIN_GROUP)) return true;
  const clusterBindings = await store.list<ClusterRoleBinding>(Kinds.ClusterRoleBinding);
  for (const binding of clusterBindings.items) {
    if (!binds(binding, user)) continue;
    const rules = await rulesOf(store, binding, undefined);
    if (rules.some((rule) => allows(rule, request))) return true;
  }
  if (request.namespace === undefined) return false;
  const bindings = await store.list<RoleBinding>(Kinds.RoleBinding, { namespace: request.namespace });
  for (const binding of bindings.items) {
    if (!binds(binding, user)) continue;
    const rules = await rulesOf(store, binding, request.namespace);
    if (rules.some((rule) => allows(rule, request))) return true;
  }
  return false;
}

function binds(binding: RoleBinding, user: UserInfo): boolean {
  return (binding.subjects ?? []).some((subject) =>
    matchesSubject(subject, user, binding.metadata.namespace),
  );
}

function matchesSubject(subject: Subject, user: UserInfo, bindingNamespace: string | undefined): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount':
      return (
        user.serviceAccount !== undefined &&
        user.serviceAccount.name === subject.name &&
        user.serviceAccount.namespace === (subject.namespace ?? bindingNamespace)
      );
  }
  return false;
}

async function rulesOf(
  store: ResourceStore,
  binding: RoleBinding,
  namespace: string | undefined,
): Promise<PolicyRule[]> {
  const ref = binding.roleRef;
  if (ref?.kind === 'ClusterRole') {
    const role = await store.get<Role>({ ...Kinds.ClusterRole, name: ref.name });
    return role?.rules ?? [];
  }
  if (ref?.kind === 'Role' && namespace !== undefined) {
    const role = await store.get<Role>({ ...Kinds.Role, name: ref.name, namespace });
    return role?.rules ?? [];
  }
  return [];
}

function allows(rule: PolicyRule, request: RequestAttributes): boolean {
  const has = (list: string[] | undefined, value: string) =>
    (list ?? []).some((entry) => entry === '*' || entry === value);
  if (!has(rule.verbs, request.verb)) return false;
  if (!has(rule.apiGroups, request.apiGroup)) return false;
  if (!has(rule.resources, request.resource)) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) {
    if (request.name === undefined) return false;
    return rule.resourceNames.includes(request.name);
  }
  return true;
}
