/** Wiring shared by the control-plane processes that run on Kubernetes (src/cmd/{identity,destination,policy}.ts). */
export {
  ControlPlaneConfigError,
  type ControlPlaneEnv,
  parseListenAddress,
  readConfigFile,
  readControlPlaneEnv,
  requireEnv,
} from './config.ts';
export { readIssuerDir, watchIssuerDir } from './issuer-dir.ts';
export { ClusterStore, type ClusterStoreOptions, clusterClient, clusterStore } from './kube.ts';
export { type FileWatch, pollForChange } from './poll.ts';
export { logLine, runComponent } from './run.ts';
export {
  SERVING_TOKEN_FILE,
  type ServingIdentity,
  type ServingIdentityOptions,
  servingTls,
  startServingIdentity,
} from './serving-identity.ts';
export { runStoreBackedService, type StartedService, type StoreServiceContext } from './store-service.ts';
export { readTrustAnchors, watchTrustAnchors } from './trust-anchors.ts';
