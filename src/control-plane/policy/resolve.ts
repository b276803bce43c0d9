import { BlockList, isIPv6 } from 'node:net';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { create } from '@bufbuild/protobuf';
import type {
  AuthorizationPolicy,
  MeshTLSAuthentication,
  NetworkAuthentication,
  PolicyTargetRef,
  Server,
  ServerSpec,
} from '../../core/api/policy.ts';
import { identityName } from '../../core/identity-name.ts';
import { matchesSelector } from '../../core/selector.ts';
import {
  type AuthenticationSchema,
  type AuthorizationSchema,
  type ProxyProtocolSchema,
  type Server as ServerMessage,
  ServerSchema,
} from '../../gen/strait/policy/v1/policy_pb.js';
import type { WorkloadInfo } from '../destination/workloads.ts';
import { byAge } from '../traffic/traffic-split.ts';

/** What a port admits when no Server selects it. */
export type DefaultPolicy =
  | 'all-unauthenticated'
  | 'all-authenticated'
  | 'cluster-unauthenticated'
  | 'cluster-authenticated'
  | 'deny';

export const DEFAULT_POLICIES: readonly DefaultPolicy[] = [
  'all-unauthenticated',
  'all-authenticated',
  'cluster-unauthenticated',
  'cluster-authenticated',
  'deny',
];

/** Per-workload override of the cluster default (Linkerd's `config.linkerd.io/default-inbound-policy` is an alias). */
export const DEFAULT_INBOUND_POLICY_ANNOTATION = 'config.strait.io/default-inbound-policy';
const LINKERD_DEFAULT_INBOUND_POLICY_ANNOTATION = 'config.linkerd.io/default-inbound-policy';

/** Protocol detection timeout sent for ports without a declared protocol. */
export const DETECT_TIMEOUT_MS = 10_000;

export interface PolicyOptions {
  defaultPolicy: DefaultPolicy;
  /** CIDRs of the cluster, for the `cluster-*` policies. */
  clusterNetworks: string[];
  trustDomain: string;
  controlPlaneNamespace: string;
}

/** The policy resources of one namespace. */
export interface NamespacePolicy {
  servers: Server[];
  authorizationPolicies: AuthorizationPolicy[];
  meshTLSAuthentications: Map<string, MeshTLSAuthentication>;
  networkAuthentications: Map<string, NetworkAuthentication>;
}

/**
 * The inbound policy of one workload port: the oldest Server whose
 * podSelector matches the workload and whose port is this one (by number or
 * by the workload's port name), with the authorizations of every
 * AuthorizationPolicy that targets it or its namespace. Without a Server,
 * the workload's annotated default or the cluster default.
 */
export function resolvePortPolicy(
  workload: WorkloadInfo | undefined,
  port: number,
  namespace: NamespacePolicy | undefined,
  options: PolicyOptions,
): ServerMessage {
  const server = workload && namespace ? selectServer(workload, port, namespace.servers) : undefined;
  if (!server || !namespace) return defaultServer(defaultPolicyOf(workload, options), options);
  const targeting = namespace.authorizationPolicies
    .filter((policy) => targetsServer(policy.spec?.targetRef, server))
    .sort(byAge);
  const authorizations: AuthorizationInit[] = [];
  for (const policy of targeting) {
    const authorization = toAuthorization(policy, namespace, options);
    if (authorization) authorizations.push(authorization);
  }
  if (targeting.length === 0)
    authorizations.push(...accessPolicyAuthorizations(server.spec?.accessPolicy, options));
  return create(ServerSchema, {
    name: server.metadata.name,
    protocol: protocolOf(server.spec?.proxyProtocol),
    authorizations,
    labels: { group: 'policy.strait.io', kind: 'server', name: server.metadata.name },
  });
}

/** Whether a Server's selector and port pick this workload port. */
export function serverSelects(server: Server, workload: WorkloadInfo, port: number): boolean {
  if (!server.spec || !matchesSelector(server.spec.podSelector ?? {}, workload.labels)) return false;
  const wanted = server.spec.port;
  if (typeof wanted === 'number') return wanted === port;
  return workload.ports.some((p) => p.name === wanted && p.port === port);
}

function selectServer(workload: WorkloadInfo, port: number, servers: Server[]): Server | undefined {
  return servers.filter((server) => safeSelects(server, workload, port)).sort(byAge)[0];
}

function safeSelects(server: Server, workload: WorkloadInfo, port: number): boolean {
  try {
    return serverSelects(server, workload, port);
  } catch {
    // A Server with a malformed selector selects nothing.
    return false;
  }
}

function targetsServer(ref: PolicyTargetRef | undefined, server: Server): boolean {
  if (!ref) return false;
  const namespace = server.metadata.namespace ?? 'default';
  if (ref.kind === 'Server')
    return ref.name === server.metadata.name && (ref.namespace ?? namespace) === namespace;
  if (ref.kind === 'Namespace') return ref.name === namespace;
  return false;
}

/**
 * One authorization admitting clients that pass every required
 * authentication: networks from NetworkAuthentications, identities from
 * MeshTLSAuthentications and ServiceAccounts. Undefined (admits nobody)
 * when a reference does not resolve.
 */
function toAuthorization(
  policy: AuthorizationPolicy,
  namespace: NamespacePolicy,
  options: PolicyOptions,
): MessageInitShape<typeof ServerSchema>['authorizations'] extends (infer A)[] | undefined
  ? A | undefined
  : never {
  const ns = policy.metadata.namespace ?? 'default';
  const networks: { net: string; except: string[] }[] = [];
  let identities: string[] | undefined;
  let suffixes: string[] = [];
  let anyMeshed = false;
  for (const ref of policy.spec?.requiredAuthenticationRefs ?? []) {
    if (ref.kind === 'NetworkAuthentication') {
      const found = namespace.networkAuthentications.get(ref.name);
      if (!found || (ref.namespace ?? ns) !== ns) return undefined;
      networks.push(...validNetworks(found));
    } else if (ref.kind === 'MeshTLSAuthentication') {
      const found = namespace.meshTLSAuthentications.get(ref.name);
      if (!found || (ref.namespace ?? ns) !== ns) return undefined;
      const names = [
        ...(found.spec?.identities ?? []),
        ...(found.spec?.identityRefs ?? []).flatMap((r) => serviceAccountIdentity(r, ns, options)),
      ];
      if (names.includes('*')) anyMeshed = true;
      else {
        identities = [...(identities ?? []), ...names.filter((n) => !n.startsWith('*.'))];
        suffixes = [...suffixes, ...names.filter((n) => n.startsWith('*.')).map((n) => n.slice(2))];
      }
    } else if (ref.kind === 'ServiceAccount') {
      identities = [...(identities ?? []), ...serviceAccountIdentity(ref, ns, options)];
    } else {
      return undefined;
    }
  }
  let authentication: MessageInitShape<typeof AuthenticationSchema>;
  if (identities !== undefined || suffixes.length > 0) {
    authentication = { permit: { case: 'meshTls', value: { identities: identities ?? [], suffixes } } };
  } else if (anyMeshed) authentication = { permit: { case: 'meshTlsAny', value: {} } };
  else authentication = { permit: { case: 'unauthenticated', value: {} } };
  return { name: `authorizationpolicy:${policy.metadata.name}`, networks, authentication };
}

function serviceAccountIdentity(ref: PolicyTargetRef, namespace: string, options: PolicyOptions): string[] {
  if (ref.kind !== 'ServiceAccount') return [];
  try {
    return [
      identityName({
        serviceAccount: ref.name,
        namespace: ref.namespace ?? namespace,
        controlPlaneNamespace: options.controlPlaneNamespace,
        trustDomain: options.trustDomain,
      }),
    ];
  } catch {
    return [];
  }
}

/** Networks that parse as CIDRs; proxies are never sent one they would refuse. */
function validNetworks(auth: NetworkAuthentication): { net: string; except: string[] }[] {
  return (auth.spec?.networks ?? [])
    .filter((n) => isCidr(n.cidr))
    .map((n) => ({ net: n.cidr, except: (n.except ?? []).filter(isCidr) }));
}

/** Whether text is an IPv4 or IPv6 CIDR (or a bare address). */
export function isCidr(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  const [ip, bits, extra] = text.split('/');
  if (extra !== undefined || !ip || bits === '') return false;
  const family = isIPv6(ip) ? 'ipv6' : 'ipv4';
  const max = family === 'ipv6' ? 128 : 32;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d*$/.test(bits ?? '') || !Number.isInteger(prefix) || prefix < 0 || prefix > max) return false;
  try {
    new BlockList().addSubnet(ip, prefix, family);
    return true;
  } catch {
    return false;
  }
}

function defaultPolicyOf(workload: WorkloadInfo | undefined, options: PolicyOptions): DefaultPolicy {
  const annotated =
    workload?.annotations[DEFAULT_INBOUND_POLICY_ANNOTATION] ??
    workload?.annotations[LINKERD_DEFAULT_INBOUND_POLICY_ANNOTATION];
  return DEFAULT_POLICIES.includes(annotated as DefaultPolicy)
    ? (annotated as DefaultPolicy)
    : options.defaultPolicy;
}

/** The Server message for a port that no Server selects. */
export function defaultServer(policy: DefaultPolicy, options: PolicyOptions): ServerMessage {
  return create(ServerSchema, {
    name: `default:${policy}`,
    protocol: protocolOf(undefined),
    authorizations: accessPolicyAuthorizations(policy, options),
    labels: { group: '', kind: 'default', name: policy },
  });
}

function accessPolicyAuthorizations(
  policy: ServerSpec['accessPolicy'] | DefaultPolicy | undefined,
  options: PolicyOptions,
): AuthorizationInit[] {
  const cluster = options.clusterNetworks.filter(isCidr).map((net) => ({ net, except: [] }));
  const unauthenticated = { permit: { case: 'unauthenticated' as const, value: {} } };
  const meshed = { permit: { case: 'meshTlsAny' as const, value: {} } };
  switch (policy ?? 'deny') {
    case 'all-unauthenticated':
      return [{ name: 'default:all-unauthenticated', networks: [], authentication: unauthenticated }];
    case 'all-authenticated':
      return [{ name: 'default:all-authenticated', networks: [], authentication: meshed }];
    case 'cluster-unauthenticated':
      return [
        { name: 'default:cluster-unauthenticated', networks: cluster, authentication: unauthenticated },
      ];
    case 'cluster-authenticated':
      return [{ name: 'default:cluster-authenticated', networks: cluster, authentication: meshed }];
    default:
      return [];
  }
}

function protocolOf(name: ServerSpec['proxyProtocol']): MessageInitShape<typeof ProxyProtocolSchema> {
  switch (name) {
    case 'HTTP/1':
      return { kind: { case: 'http1', value: {} } };
    case 'HTTP/2':
      return { kind: { case: 'http2', value: {} } };
    case 'gRPC':
      return { kind: { case: 'grpc', value: {} } };
    case 'opaque':
      return { kind: { case: 'opaque', value: {} } };
    case 'TLS':
      return { kind: { case: 'tls', value: {} } };
    default:
      return { kind: { case: 'detect', value: { timeoutMs: DETECT_TIMEOUT_MS } } };
  }
}

type AuthorizationInit = MessageInitShape<typeof AuthorizationSchema>;
