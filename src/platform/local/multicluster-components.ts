import { readFileSync } from 'node:fs';
import type { EventRecorder } from '../../control-plane/runtime/index.ts';
import type { ResourceStore } from '../../core/store.ts';
import { serviceMirrorIdentity } from '../../multicluster/link/manifests.ts';
import { issuedProbeIdentity } from '../../multicluster/service-mirror/probe-identity.ts';
import { type ClusterConfig, clusterFiles, mirrorAdminAddress } from './cluster-config.ts';
import { GatewaySupervisor } from './multicluster/gateway-supervisor.ts';
import type { KubernetesTargets } from './multicluster/remote-store.ts';
import { startLocalServiceMirror } from './multicluster/service-mirror.ts';

/** The multi-cluster parts a local control plane runs. */
export interface MulticlusterComponents {
  close(): Promise<void>;
}

/**
 * Starts what a Kubernetes cluster runs as the multi-cluster Deployments:
 * the service mirror (follows the Links in strait-multicluster, metrics on the
 * cluster's mirror admin address) and the supervisor of the gateway (runs it
 * as ConfigMap strait-multicluster/strait-gateway says).
 */
export async function startMulticlusterComponents(options: {
  dir: string;
  config: ClusterConfig;
  store: ResourceStore;
  log: (line: string) => void;
  events?: EventRecorder;
  kubernetes?: KubernetesTargets;
}): Promise<MulticlusterComponents> {
  const { dir, config, store, log } = options;
  const files = clusterFiles(dir);
  const mirror = await startLocalServiceMirror({
    store,
    admin: mirrorAdminAddress(config),
    probeIdentity: issuedProbeIdentity({
      identity: serviceMirrorIdentity(config.controlPlaneNamespace, config.trustDomain),
      issuer: () => ({
        certPem: readFileSync(files.issuerCert, 'utf8'),
        keyPem: readFileSync(files.issuerKey, 'utf8'),
      }),
      trustBundle: () => readFileSync(files.trustAnchor, 'utf8'),
    }),
    log: (line) => log(`service-mirror: ${line}`),
    ...(options.kubernetes ? { kubernetes: options.kubernetes } : {}),
  });
  const gateway = new GatewaySupervisor({
    store,
    dir,
    config,
    log: (line) => log(`gateway: ${line}`),
    ...(options.events ? { events: options.events } : {}),
  });
  gateway.start();
  return {
    async close() {
      await Promise.all([mirror.close(), gateway.stop()]);
    },
  };
}
