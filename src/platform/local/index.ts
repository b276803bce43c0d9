/**
 * The embedded local platform: clusters as a state directory plus one
 * control-plane process each, on their own loopback blocks; workloads run as
 * processes with their proxies; the store served as Kubernetes-style REST.
 */
export { type ApiClientOptions, type ApiStore, createApiStore } from './api/client.ts';
export {
  type ApiCredential,
  formatKubeconfig,
  parseKubeconfig,
  storeFromKubeconfig,
} from './api/kubeconfig.ts';
export { apiPrefix, resourcePath } from './api/paths.ts';
export { createRefreshingApiStore, tokenLifetime } from './api/refreshing-token.ts';
export { type ApiServer, type ApiServerOptions, startApiServer } from './api/server.ts';
export { ServiceAccountTokens } from './api/service-account-token.ts';
export { UnauthorizedError } from './api/status.ts';
export { requestServiceAccountToken } from './api/token-request.ts';
export {
  apiUrl,
  type ClusterConfig,
  clusterFiles,
  linkAddress,
  mirrorAdminAddress,
  readClusterConfig,
} from './cluster-config.ts';
export { apiCredential, openClusterStore } from './cluster-store.ts';
export { ControlPlaneAccounts, controlPlaneIdentity } from './control-plane-identities.ts';
export {
  controlPlaneStatus,
  startControlPlaneProcess,
  stopControlPlaneProcess,
} from './control-plane-process.ts';
export { type CreateClusterOptions, createCluster } from './create-cluster.ts';
export { clusterDirectory, listClusterNames, straitHome } from './home.ts';
export { type LocalCluster, upCluster } from './local-cluster.ts';
export {
  GatewayAnnotations,
  GatewayConfigMap,
  type GatewaySpec,
  GatewaySpecError,
  gatewayConfigMap,
  parseGatewaySpec,
} from './multicluster/gateway-spec.ts';
export { type KubernetesTargets, linkRemoteStores } from './multicluster/remote-store.ts';
export { type RunningWorkload, type RunWorkloadOptions, runWorkload } from './workload/run-workload.ts';
