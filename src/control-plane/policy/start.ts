import { Ports } from '../../core/api/names.ts';
import { describeError, StraitError } from '../../core/errors.ts';
import { DEFAULT_CONTROL_PLANE_NAMESPACE, DEFAULT_TRUST_DOMAIN } from '../../core/identity-name.ts';
import type { ResourceStore } from '../../core/store.ts';
import type { RpcServer, TlsMaterial } from '../../rpc/server.ts';
import { followKinds, type InformerSource, serveWhenSynced } from '../destination/feed.ts';
import { DEFAULT_POLICIES, type DefaultPolicy, isCidr } from './resolve.ts';
import { InboundPolicyService, PolicyWatches, policyServiceImpl } from './service.ts';
import { POLICY_KINDS, PolicyState } from './state.ts';

export interface PolicyServiceOptions {
  store: ResourceStore;
  /** Serving certificate (the policy service's identity) and the trust bundle for client certificates. */
  tls: TlsMaterial;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8090; 0 picks a free port. */
  port?: number;
  /** What ports without a Server admit; default `all-unauthenticated`. */
  defaultPolicy?: DefaultPolicy;
  /** Networks of the cluster for the `cluster-*` policies; default every address. */
  clusterNetworks?: string[];
  /** Default `cluster.local`. */
  trustDomain?: string;
  /** Default `strait`. */
  controlPlaneNamespace?: string;
  onError?: (error: unknown) => void;
  /** Informers shared with other parts of the process; without it the service makes its own. */
  informers?: InformerSource;
}

export interface PolicyServiceHandle {
  readonly port: number;
  readonly rpc: RpcServer;
  readonly watches: PolicyWatches;
  close(): Promise<void>;
}

/** Bad policy-service configuration. */
export class PolicyConfigError extends StraitError {
  constructor(message: string, hint: string) {
    super('E_POLICY_CONFIG', message, { hint });
    this.name = 'PolicyConfigError';
  }
}

/**
 * Starts the policy service: follows Workloads, Pods, Servers,
 * AuthorizationPolicies and authentications in `store`, and serves
 * WatchPort streams over gRPC with TLS once the first lists are in.
 */
export async function startPolicyService(options: PolicyServiceOptions): Promise<PolicyServiceHandle> {
  const defaultPolicy = options.defaultPolicy ?? 'all-unauthenticated';
  if (!DEFAULT_POLICIES.includes(defaultPolicy)) {
    throw new PolicyConfigError(
      `default policy "${defaultPolicy}" is unknown`,
      `use one of ${DEFAULT_POLICIES.join(', ')}`,
    );
  }
  const clusterNetworks = options.clusterNetworks ?? ['0.0.0.0/0', '::/0'];
  const badNetwork = clusterNetworks.find((n) => !isCidr(n));
  if (badNetwork !== undefined) {
    throw new PolicyConfigError(
      `cluster network "${badNetwork}" is not a CIDR`,
      'write networks like 10.0.0.0/8 or fd00::/8',
    );
  }
  const state = new PolicyState();
  const watches = new PolicyWatches(state, {
    defaultPolicy,
    clusterNetworks,
    trustDomain: options.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    controlPlaneNamespace: options.controlPlaneNamespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE,
  });
  const feed = followKinds(
    options.store,
    POLICY_KINDS,
    (object, deleted) => watches.invalidate(state.apply(object, deleted)),
    {
      onError:
        options.onError ?? ((error: unknown) => process.emitWarning(`policy: ${describeError(error)}`)),
      ...(options.informers ? { informers: options.informers } : {}),
    },
  );
  const rpc = await serveWhenSynced(feed, {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? Ports.policy,
    tls: options.tls,
    requestClientCert: true,
    register: (router) => router.service(InboundPolicyService, policyServiceImpl(watches)),
  });
  return {
    port: rpc.port,
    rpc,
    watches,
    async close() {
      await feed.stop();
      await rpc.close();
    },
  };
}
