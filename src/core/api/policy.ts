import type { Resource } from '../resource.ts';
import type { LabelSelector } from '../selector.ts';

export type ProxyProtocolName = 'unknown' | 'HTTP/1' | 'HTTP/2' | 'gRPC' | 'opaque' | 'TLS';

/** A port of selected workloads, as in Linkerd's `policy.linkerd.io` Server. */
export interface ServerSpec {
  podSelector: LabelSelector;
  /** Number, or the name of a workload port. */
  port: number | string;
  proxyProtocol?: ProxyProtocolName;
  /** What is admitted when no AuthorizationPolicy targets this Server; default `deny`. */
  accessPolicy?: 'deny' | 'all-authenticated' | 'all-unauthenticated' | 'cluster-authenticated';
}

export type Server = Resource<ServerSpec, never>;

export interface PolicyTargetRef {
  group?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface AuthorizationPolicySpec {
  /** A Server, or a Namespace for every Server in it. */
  targetRef: PolicyTargetRef;
  /** MeshTLSAuthentication, NetworkAuthentication or ServiceAccount references; all must pass. */
  requiredAuthenticationRefs: PolicyTargetRef[];
}

export type AuthorizationPolicy = Resource<AuthorizationPolicySpec, never>;

export interface MeshTLSAuthenticationSpec {
  /** Identity names; `*` admits any meshed client; `*.east.example` a suffix. */
  identities?: string[];
  identityRefs?: PolicyTargetRef[];
}

export type MeshTLSAuthentication = Resource<MeshTLSAuthenticationSpec, never>;

export interface NetworkAuthenticationSpec {
  networks: { cidr: string; except?: string[] }[];
}

export type NetworkAuthentication = Resource<NetworkAuthenticationSpec, never>;
