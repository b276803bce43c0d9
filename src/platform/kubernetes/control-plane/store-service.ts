import { describeError } from '../../../core/errors.ts';
import type { ResourceStore } from '../../../core/store.ts';
import type { TlsMaterial } from '../../../rpc/server.ts';
import type { ComponentName, MeshSettings } from '../manifests/settings.ts';
import { readControlPlaneEnv } from './config.ts';
import { clusterClient, clusterStore } from './kube.ts';
import { logLine, runComponent } from './run.ts';
import { startServingIdentity } from './serving-identity.ts';
import { watchTrustAnchors } from './trust-anchors.ts';

/** What a store-backed service needs to start: the cluster, its serving certificate and where to listen. */
export interface StoreServiceContext {
  store: ResourceStore;
  tls: TlsMaterial;
  host: string;
  port: number;
  settings: MeshSettings;
  onError: (error: unknown) => void;
}

/** The handle every control-plane gRPC service returns. */
export interface StartedService {
  port: number;
  rpc: { setTls(tls: TlsMaterial): void };
  close(): Promise<void>;
}

/**
 * Runs a control-plane service that reads the cluster (destination, policy):
 * the store from in-cluster config or a kubeconfig, a serving certificate
 * from the identity service (renewed, and re-verified when the trust anchors
 * file changes), SIGTERM draining.
 */
export async function runStoreBackedService(
  component: ComponentName,
  start: (context: StoreServiceContext) => Promise<StartedService>,
): Promise<void> {
  await runComponent(component, async () => {
    const env = readControlPlaneEnv();
    const { settings } = env;
    const store = clusterStore(clusterClient(env.kube), {
      onUnservedKind: (kind) =>
        logLine(`the cluster does not serve ${kind.kind} (${kind.apiVersion}): following none`),
    });
    const serving = startServingIdentity({
      settings,
      component,
      trustAnchorsPem: env.trustAnchorsPem,
      ...(process.env.STRAIT_IDENTITY_ADDR ? { identityAddress: process.env.STRAIT_IDENTITY_ADDR } : {}),
      ...(process.env.STRAIT_IDENTITY_TOKEN_FILE
        ? { tokenFile: process.env.STRAIT_IDENTITY_TOKEN_FILE }
        : {}),
      log: logLine,
    });
    const service = await start({
      store,
      tls: await serving.first(),
      host: env.host,
      port: env.port,
      settings,
      onError: (error) => logLine(`${component}: ${describeError(error)}`),
    });
    serving.onRenewed((tls) => service.rpc.setTls(tls));
    const anchors = watchTrustAnchors(
      env.trustAnchorsFile,
      env.trustAnchorsPem,
      (pem) => {
        serving.setTrustBundle(pem);
        logLine(`trust anchors reloaded from ${env.trustAnchorsFile}`);
      },
      { onError: (error) => logLine(`trust anchors not reloaded: ${describeError(error)}`) },
    );
    logLine(`${component} service ${serving.identity} serving on ${env.host}:${service.port}`);
    return async () => {
      anchors.stop();
      serving.close();
      await service.close();
    };
  });
}
