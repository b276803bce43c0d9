/** The destination service: endpoints and profiles for proxies, from the resource store. */
export type { EndpointAddr, EndpointSet } from './endpoint-set.ts';
export { ENDPOINT_WEIGHT, ipEndpointSet, isMirror, serviceEndpointSet } from './endpoint-set.ts';
export type { Feed, FeedHandler, InformerSource } from './feed.ts';
export { followKinds } from './feed.ts';
export { DestinationService, DestinationWatches, destinationServiceImpl } from './service.ts';
export type { DestinationServiceHandle, DestinationServiceOptions } from './start.ts';
export { startDestinationService } from './start.ts';
export { DESTINATION_KINDS, DestinationState } from './state.ts';
export type { IpTarget, ServiceTarget, Target } from './target.ts';
export { InvalidTargetError, parseTarget, serviceFqdn, targetKey } from './target.ts';
export type { Pod, WorkloadInfo } from './workloads.ts';
export { describeWorkload, PROXY_CONTAINER_NAME } from './workloads.ts';
