import type { Namespace, Secret, Service, ServiceAccount } from '../../core/api/core.ts';
import {
  LINK_CREDENTIALS_KEY,
  LINK_CREDENTIALS_SECRET_TYPE,
  type Link,
} from '../../core/api/multicluster.ts';
import { MULTICLUSTER_NAMESPACE, Ports } from '../../core/api/names.ts';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from '../../core/api/rbac.ts';
import type { Resource } from '../../core/resource.ts';
import type { LabelSelector } from '../../core/selector.ts';

/** Names of what `strait mc install` creates in a cluster. */
export const Multicluster = {
  namespace: MULTICLUSTER_NAMESPACE,
  gateway: 'strait-gateway',
  remoteAccessRole: 'strait-mirror-remote-access',
  /** Prefix of the ServiceAccounts whose tokens linked clusters hold. */
  remoteAccessAccount: 'strait-mirror-remote-access',
  defaultAccessName: 'default',
  /** Label on everything `mc install` and `mc allow` create, so `mc uninstall` finds it. */
  partOfLabel: 'multicluster.strait.io/part-of',
  gatewayIdentityAnnotation: 'mirror.strait.io/gateway-identity',
  probePathAnnotation: 'mirror.strait.io/probe-path',
  probePeriodAnnotation: 'mirror.strait.io/probe-period',
  probePortAnnotation: 'mirror.strait.io/probe-port',
} as const;

const partOf = { [Multicluster.partOfLabel]: 'strait-multicluster' };

/** The identity of a cluster's gateway. */
export function gatewayIdentity(controlPlaneNamespace: string, trustDomain: string): string {
  return `${Multicluster.gateway}.${Multicluster.namespace}.serviceaccount.identity.${controlPlaneNamespace}.${trustDomain}`;
}

/** The identity a cluster's service mirror probes linked gateways with. */
export function serviceMirrorIdentity(controlPlaneNamespace: string, trustDomain: string): string {
  return `strait-service-mirror.${Multicluster.namespace}.serviceaccount.identity.${controlPlaneNamespace}.${trustDomain}`;
}

export interface InstallOptions {
  controlPlaneNamespace: string;
  trustDomain: string;
  /** Where linked clusters reach the gateway; recorded as the gateway Service's load-balancer address. */
  gatewayAddress?: string;
  gatewayPort?: number;
  probePort?: number;
  /** How the gateway Service is exposed (default LoadBalancer; ClusterIP or NodePort where there is no load balancer). */
  serviceType?: GatewayServiceType;
  /** Objects placed right after the gateway's ServiceAccount, e.g. the gateway's Deployment on Kubernetes. */
  gatewayWorkload?: Resource[];
}

/** The Service types the gateway can be exposed as. */
export type GatewayServiceType = 'LoadBalancer' | 'NodePort' | 'ClusterIP';

/**
 * What makes a cluster linkable: its namespace, the gateway's ServiceAccount
 * and Service (data 4143, probe 4191), the read-only role linked clusters
 * get, and the default credential's ServiceAccount.
 */
export function installManifests(options: InstallOptions): Resource[] {
  const ns = Multicluster.namespace;
  const gatewayService: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: Multicluster.gateway,
      namespace: ns,
      labels: { ...partOf, app: Multicluster.gateway },
      annotations: {
        [Multicluster.gatewayIdentityAnnotation]: gatewayIdentity(
          options.controlPlaneNamespace,
          options.trustDomain,
        ),
        [Multicluster.probePathAnnotation]: '/ready',
        [Multicluster.probePeriodAnnotation]: '3',
        [Multicluster.probePortAnnotation]: String(options.probePort ?? Ports.gatewayProbe),
      },
    },
    spec: {
      selector: { app: Multicluster.gateway },
      ports: [
        { name: 'mc-gateway', port: options.gatewayPort ?? Ports.gateway },
        { name: 'mc-probe', port: options.probePort ?? Ports.gatewayProbe },
      ],
      type: options.serviceType ?? 'LoadBalancer',
    },
  };
  if (options.gatewayAddress && (options.serviceType ?? 'LoadBalancer') === 'LoadBalancer')
    gatewayService.status = { loadBalancer: { ingress: [{ ip: options.gatewayAddress }] } };
  const role: ClusterRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: Multicluster.remoteAccessRole, labels: partOf },
    rules: [
      { apiGroups: [''], resources: ['services', 'endpoints'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    ],
  };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: partOf } } satisfies Namespace,
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: Multicluster.gateway, namespace: ns, labels: partOf },
    } satisfies ServiceAccount,
    ...(options.gatewayWorkload ?? []),
    gatewayService,
    role,
    ...remoteAccessManifests(Multicluster.defaultAccessName),
  ];
}

/** The ServiceAccount name behind a named credential. */
export function remoteAccessAccount(name: string): string {
  return `${Multicluster.remoteAccessAccount}-${name}`;
}

/**
 * One revocable credential for a consuming cluster: a ServiceAccount bound to
 * the read-only role, and a Role that lets it request new tokens for itself
 * (so the service mirror can renew its short-lived token) and nothing more.
 */
export function remoteAccessManifests(name: string): Resource[] {
  const account = remoteAccessAccount(name);
  const renewal: Role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: `${account}-token`, namespace: Multicluster.namespace, labels: partOf },
    rules: [
      { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: [account] },
    ],
  };
  const renewalBinding: RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `${account}-token`, namespace: Multicluster.namespace, labels: partOf },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${account}-token` },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace: Multicluster.namespace }],
  };
  const binding: ClusterRoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: account, labels: partOf },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: Multicluster.remoteAccessRole,
    },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace: Multicluster.namespace }],
  };
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: account, namespace: Multicluster.namespace, labels: partOf },
    } satisfies ServiceAccount,
    binding,
    renewal,
    renewalBinding,
  ];
}

export interface LinkManifestOptions {
  clusterName: string;
  clusterDomain: string;
  controlPlaneNamespace: string;
  gatewayAddresses: string[];
  gatewayPort: number;
  gatewayIdentity: string;
  probePort: number;
  probePath: string;
  probePeriod: string;
  /** Kubeconfig (YAML) reaching the target with the remote-access credential. */
  kubeconfig: string;
  selector?: LabelSelector;
}

/** What the source cluster applies to link to a target: the credentials Secret and the Link. */
export function linkManifests(options: LinkManifestOptions): [Secret, Link] {
  const secretName = `cluster-credentials-${options.clusterName}`;
  const secret: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: LINK_CREDENTIALS_SECRET_TYPE,
    metadata: {
      name: secretName,
      namespace: Multicluster.namespace,
      labels: { 'mirror.strait.io/cluster-name': options.clusterName },
    },
    data: { [LINK_CREDENTIALS_KEY]: Buffer.from(options.kubeconfig).toString('base64') },
  };
  const link: Link = {
    apiVersion: 'multicluster.strait.io/v1alpha1',
    kind: 'Link',
    metadata: { name: options.clusterName, namespace: Multicluster.namespace },
    spec: {
      targetClusterName: options.clusterName,
      targetClusterDomain: options.clusterDomain,
      targetClusterStraitNamespace: options.controlPlaneNamespace,
      clusterCredentialsSecret: secretName,
      gatewayAddress: options.gatewayAddresses.join(','),
      gatewayPort: options.gatewayPort,
      gatewayIdentity: options.gatewayIdentity,
      probeSpec: {
        path: options.probePath,
        port: options.probePort,
        period: options.probePeriod,
        failureThreshold: 3,
        timeout: '2s',
      },
      ...(options.selector ? { selector: options.selector } : {}),
    },
  };
  return [secret, link];
}
