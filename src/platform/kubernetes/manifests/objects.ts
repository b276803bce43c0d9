import type { Resource } from '../../../core/resource.ts';

/** Labels every object of the install carries, so `strait uninstall` and `check` can find them. */
export function partOf(component?: string): Record<string, string> {
  return {
    'app.kubernetes.io/part-of': 'strait',
    ...(component ? { 'app.kubernetes.io/name': component } : {}),
  };
}

/** A namespaced or cluster-scoped object with Strait's labels. */
export function object(
  apiVersion: string,
  kind: string,
  name: string,
  namespace: string | undefined,
  body: Record<string, unknown>,
  component?: string,
): Resource {
  return {
    apiVersion,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), labels: partOf(component) },
    ...body,
  } as Resource;
}

/** A ClusterRole and its binding to one ServiceAccount. */
export function clusterRoleFor(
  name: string,
  namespace: string,
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[],
): Resource[] {
  const roleName = `${namespace}-${name}`;
  return [
    object('rbac.authorization.k8s.io/v1', 'ClusterRole', roleName, undefined, { rules }, name),
    object(
      'rbac.authorization.k8s.io/v1',
      'ClusterRoleBinding',
      roleName,
      undefined,
      {
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
      name,
    ),
  ];
}

/** A Role in `namespace` and its binding to that namespace's ServiceAccount `name`. */
export function roleFor(
  name: string,
  namespace: string,
  rules: { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[],
): Resource[] {
  return [
    object('rbac.authorization.k8s.io/v1', 'Role', name, namespace, { rules }, name),
    object(
      'rbac.authorization.k8s.io/v1',
      'RoleBinding',
      name,
      namespace,
      {
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
      name,
    ),
  ];
}

export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
