/** Traffic splits and routes: TrafficSplit and HTTPRoute resolution, validation and status. */
export type { RetryBudgetValue } from './annotations.ts';
export {
  checkTrafficAnnotations,
  DEFAULT_RETRY_BUDGET,
  parseGrpcStatuses,
  parseRetryBudget,
  parseStatusRanges,
  parseTimeout,
  TrafficAnnotationError,
  TrafficAnnotations,
} from './annotations.ts';
export type { BackendProblem, WeightedBackend } from './backends.ts';
export { checkBackends } from './backends.ts';
export type { RouteSpec } from './http-route.ts';
export { resolveHttpRouteBackends, routeAttachesTo, routesOf, serviceDefaultRoute } from './http-route.ts';
export type { SplitOutcome, SplitSource } from './split-tracker.ts';
export { SplitTracker } from './split-tracker.ts';
export { acceptedCondition, SplitStatusWriter, TRAFFIC_CONTROLLER_NAME } from './status-writer.ts';
export type { SplitResolution } from './traffic-split.ts';
export { byAge, resolveTrafficSplit } from './traffic-split.ts';
