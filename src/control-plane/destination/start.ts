import { Ports } from '../../core/api/names.ts';
import { describeError } from '../../core/errors.ts';
import { DEFAULT_CONTROL_PLANE_NAMESPACE, DEFAULT_TRUST_DOMAIN } from '../../core/identity-name.ts';
import type { ResourceStore } from '../../core/store.ts';
import type { RpcServer, TlsMaterial } from '../../rpc/server.ts';
import { SplitStatusWriter } from '../traffic/status-writer.ts';
import { followKinds, type InformerSource, serveWhenSynced } from './feed.ts';
import { DestinationService, DestinationWatches, destinationServiceImpl } from './service.ts';
import { DESTINATION_KINDS, DestinationState } from './state.ts';

export interface DestinationServiceOptions {
  store: ResourceStore;
  /** Serving certificate (the destination service's identity) and the trust bundle for client certificates. */
  tls: TlsMaterial;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8086; 0 picks a free port. */
  port?: number;
  /** Default `cluster.local`. */
  clusterDomain?: string;
  /** Default `cluster.local`. */
  trustDomain?: string;
  /** Default `strait`. */
  controlPlaneNamespace?: string;
  /** Write TrafficSplit and HTTPRoute status and Events (default true). */
  writeStatus?: boolean;
  /** Called with problems that do not stop the service (a failed watch, a status write that failed). */
  onError?: (error: unknown) => void;
  /** Informers shared with other parts of the process; without it the service makes its own. */
  informers?: InformerSource;
}

export interface DestinationServiceHandle {
  readonly port: number;
  readonly rpc: RpcServer;
  readonly state: DestinationState;
  readonly watches: DestinationWatches;
  /** Resolves when queued status and event writes are done (for tests). */
  statusIdle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the destination service: follows Services, Endpoints, Workloads,
 * Pods, TrafficSplits and HTTPRoutes in `store`, and serves Get and
 * GetProfile streams over gRPC with TLS once the first lists are in.
 */
export async function startDestinationService(
  options: DestinationServiceOptions,
): Promise<DestinationServiceHandle> {
  const onError =
    options.onError ?? ((error: unknown) => process.emitWarning(`destination: ${describeError(error)}`));
  const state = new DestinationState({
    trustDomain: options.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    controlPlaneNamespace: options.controlPlaneNamespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE,
  });
  const watches = new DestinationWatches(state, options.clusterDomain ?? 'cluster.local');
  const status = options.writeStatus === false ? undefined : new SplitStatusWriter(options.store, onError);
  const feed = followKinds(
    options.store,
    DESTINATION_KINDS,
    (object, deleted) => {
      const change = state.apply(object, deleted);
      watches.invalidate(change.dependencies);
      status?.report(change.outcomes);
      if (object.kind === 'Service') status?.reportServiceAnnotations(object, deleted);
    },
    { onError, ...(options.informers ? { informers: options.informers } : {}) },
  );
  const rpc = await serveWhenSynced(feed, {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? Ports.destination,
    tls: options.tls,
    requestClientCert: true,
    register: (router) => router.service(DestinationService, destinationServiceImpl(watches)),
  });
  return {
    port: rpc.port,
    rpc,
    state,
    watches,
    statusIdle: async () => status?.idle(),
    async close() {
      await feed.stop();
      await rpc.close();
      await status?.idle();
    },
  };
}
