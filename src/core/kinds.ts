import type { KindRef } from './resource.ts';

/** What every platform must know about a kind to store and serve it. */
export interface KindInfo extends KindRef {
  /** Lower-case plural, as in Kubernetes REST paths: `services`, `links`. */
  plural: string;
  namespaced: boolean;
  /** Whether `status` is a subresource, written only through updateStatus. */
  hasStatus: boolean;
  /** Names accepted on the command line: `svc`, `link`, `ts`. */
  shortNames: string[];
}

function kind(
  apiVersion: string,
  name: string,
  plural: string,
  namespaced: boolean,
  hasStatus: boolean,
  shortNames: string[] = [],
): KindInfo {
  return { apiVersion, kind: name, plural, namespaced, hasStatus, shortNames };
}

export const Kinds = {
  Namespace: kind('v1', 'Namespace', 'namespaces', false, true, ['ns']),
  ServiceAccount: kind('v1', 'ServiceAccount', 'serviceaccounts', true, false, ['sa']),
  Service: kind('v1', 'Service', 'services', true, true, ['svc']),
  Endpoints: kind('v1', 'Endpoints', 'endpoints', true, false, ['ep']),
  Secret: kind('v1', 'Secret', 'secrets', true, false),
  ConfigMap: kind('v1', 'ConfigMap', 'configmaps', true, false, ['cm']),
  Event: kind('v1', 'Event', 'events', true, false, ['ev']),
  Pod: kind('v1', 'Pod', 'pods', true, true, ['po']),
  Workload: kind('local.strait.io/v1alpha1', 'Workload', 'workloads', true, true, ['wl']),
  Link: kind('multicluster.strait.io/v1alpha1', 'Link', 'links', true, true),
  TrafficSplit: kind('split.smi-spec.io/v1alpha2', 'TrafficSplit', 'trafficsplits', true, true, ['ts']),
  HTTPRoute: kind('gateway.networking.k8s.io/v1', 'HTTPRoute', 'httproutes', true, true),
  Server: kind('policy.strait.io/v1beta1', 'Server', 'servers', true, false, ['srv']),
  AuthorizationPolicy: kind(
    'policy.strait.io/v1alpha1',
    'AuthorizationPolicy',
    'authorizationpolicies',
    true,
    false,
  ),
  MeshTLSAuthentication: kind(
    'policy.strait.io/v1alpha1',
    'MeshTLSAuthentication',
    'meshtlsauthentications',
    true,
    false,
  ),
  NetworkAuthentication: kind(
    'policy.strait.io/v1alpha1',
    'NetworkAuthentication',
    'networkauthentications',
    true,
    false,
  ),
  Role: kind('rbac.authorization.k8s.io/v1', 'Role', 'roles', true, false),
  RoleBinding: kind('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', true, false),
  ClusterRole: kind('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false, false),
  ClusterRoleBinding: kind(
    'rbac.authorization.k8s.io/v1',
    'ClusterRoleBinding',
    'clusterrolebindings',
    false,
    false,
  ),
} as const satisfies Record<string, KindInfo>;

export type KindName = keyof typeof Kinds;

const byKey = new Map<string, KindInfo>(Object.values(Kinds).map((k) => [`${k.apiVersion}/${k.kind}`, k]));

/** Registered information for a kind, or undefined for a kind no platform knows. */
export function kindInfo(ref: KindRef): KindInfo | undefined {
  return byKey.get(`${ref.apiVersion}/${ref.kind}`);
}

/** Resolves what a user typed (`svc`, `services`, `Service`, `links.multicluster.strait.io`). */
export function resolveKindName(text: string): KindInfo | undefined {
  const lower = text.toLowerCase();
  const [name, ...group] = lower.split('.');
  const groupName = group.join('.');
  for (const info of Object.values(Kinds)) {
    const infoGroup = info.apiVersion.includes('/') ? info.apiVersion.split('/')[0] : '';
    if (groupName && groupName !== infoGroup) continue;
    if (
      name === info.kind.toLowerCase() ||
      name === info.plural ||
      info.shortNames.includes(name as string)
    ) {
      return info;
    }
  }
  return undefined;
}
