import type { Resource } from '../resource.ts';
import type { LabelSelector } from '../selector.ts';
import type { Condition } from './conditions.ts';

export interface ProbeSpec {
  /** Default `/ready`. */
  path: string;
  /** Default 4191. */
  port: number;
  /** Duration, default `3s`. */
  period: string;
  /** Consecutive failures before the gateway is not alive; default 3. */
  failureThreshold: number;
  /** Duration, default `2s`. */
  timeout: string;
}

/** A link from this (source) cluster to a target cluster whose exported services it mirrors. */
export interface LinkSpec {
  targetClusterName: string;
  /** Default `cluster.local`. */
  targetClusterDomain: string;
  /** Control-plane namespace of the target; default `strait`. */
  targetClusterStraitNamespace?: string;
  /** Secret (in the Link's namespace) holding the credential for the target's API. */
  clusterCredentialsSecret: string;
  /** Gateway addresses (IPs or names), comma-separated. */
  gatewayAddress: string;
  /** Default 4143. */
  gatewayPort: number;
  gatewayIdentity: string;
  probeSpec: ProbeSpec;
  /** Exported services; default `mirror.strait.io/exported=true` (Linkerd's label is an alias). */
  selector?: LabelSelector;
}

export interface LinkStatus {
  conditions?: Condition[];
  /** RFC 3339 time of the last complete sync with the target. */
  lastSuccessfulSync?: string;
  mirroredServices?: number;
  gatewayAlive?: boolean;
}

export type Link = Resource<LinkSpec, LinkStatus>;

/** Secret type of link credentials, and the key holding the kubeconfig-shaped credential. */
export const LINK_CREDENTIALS_SECRET_TYPE = 'mirror.strait.io/remote-kubeconfig';
export const LINK_CREDENTIALS_KEY = 'kubeconfig';
