/**
 * Multi-cluster: Links, the service mirror and the gateway. (The failover
 * operator has its own entry, `./failover/index.ts`.)
 */

export { type GatewayAuthorizationSpec, gatewayAuthorization } from './gateway/authorization.ts';
export { createGateway, type Gateway, type GatewayOptions } from './gateway/gateway.ts';
export { gatewayTarget } from './gateway/target.ts';
export { InvalidLinkError, isExported, type LinkConfig, linkConfig } from './link/link-config.ts';
export {
  MirrorController,
  type MirrorControllerOptions,
  removeMirrors,
} from './service-mirror/controller.ts';
export {
  LinkManager,
  type LinkManagerOptions,
  type RemoteStoreFactory,
} from './service-mirror/link-manager.ts';
export { MirrorMetrics } from './service-mirror/metrics.ts';
export { buildMirror } from './service-mirror/mirror-objects.ts';
export { mirrorName } from './service-mirror/naming.ts';
export { ProbeWorker } from './service-mirror/probe-worker.ts';
