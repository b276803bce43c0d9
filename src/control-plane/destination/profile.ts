import { create, equals } from '@bufbuild/protobuf';
import { DurationSchema } from '@bufbuild/protobuf/wkt';
import {
  type DestinationProfile,
  DestinationProfileSchema,
} from '../../gen/strait/destination/v1/destination_pb.js';
import { DEFAULT_RETRY_BUDGET, parseRetryBudget } from '../traffic/annotations.ts';
import { type RouteSpec, routeAttachesTo, routesOf, serviceDefaultRoute } from '../traffic/http-route.ts';
import { byAge } from '../traffic/traffic-split.ts';
import { ipEndpointSet, isOpaqueServicePort } from './endpoint-set.ts';
import type { DestinationState } from './state.ts';
import { type IpTarget, type ServiceTarget, serviceFqdn } from './target.ts';
import { toWeightedAddr } from './updates.ts';

/**
 * The profile of a service target: its traffic split (dst_overrides),
 * routes with timeouts and retries, retry budget and opaque-ness.
 */
export function serviceProfile(
  target: ServiceTarget,
  state: DestinationState,
  clusterDomain: string,
): DestinationProfile {
  const service = state.service(target.namespace, target.name);
  const servicePort = service?.spec?.ports?.find((p) => p.port === target.port);
  // One endpoint by hostname is never split.
  const split =
    target.hostname === undefined
      ? state.splits.backendsFor(target.namespace, target.name, target.port)
      : undefined;
  const routes: RouteSpec[] = state
    .httpRoutes(target.namespace)
    .filter((route) => routeAttachesTo(route, target.namespace, target.name, target.port))
    .sort(byAge)
    .flatMap(routesOf);
  const fallback = serviceDefaultRoute(service?.metadata.annotations);
  if (fallback) routes.push(fallback);
  return create(DestinationProfileSchema, {
    fullyQualifiedName: `${target.hostname ? `${target.hostname}.` : ''}${serviceFqdn(target.namespace, target.name, clusterDomain)}`,
    opaqueProtocol: service ? isOpaqueServicePort(service, servicePort, target.port) : false,
    routes: routes.map(toRoute),
    retryBudget: toRetryBudget(service?.metadata.annotations),
    dstOverrides: (split?.serving ?? []).map((backend) => ({
      authority: `${serviceFqdn(backend.namespace, backend.service, clusterDomain)}:${backend.port ?? target.port}`,
      weight: backend.weight,
      backend: backend.service,
    })),
  });
}

/** The profile of an IP target: the endpoint itself, so the proxy can reach it over mTLS. */
export function ipProfile(target: IpTarget, state: DestinationState): DestinationProfile {
  const addr = ipEndpointSet(target, state).addrs.values().next().value;
  return create(DestinationProfileSchema, {
    fullyQualifiedName: '',
    opaqueProtocol: addr?.protocolHint === 'opaque',
    retryBudget: toRetryBudget(undefined),
    ...(addr ? { endpoint: toWeightedAddr(addr) } : {}),
  });
}

/** Profiles are equal when every field is. */
export function sameProfile(a: DestinationProfile, b: DestinationProfile): boolean {
  return equals(DestinationProfileSchema, a, b);
}

function toRoute(route: RouteSpec) {
  return {
    name: route.name,
    condition: { pathRegex: route.pathRegex, method: route.method },
    isRetryable: route.retryable,
    ...(route.timeoutMs === undefined ? {} : { timeout: duration(route.timeoutMs) }),
    responseClasses: route.failureClasses.map(([min, max]) => ({
      statusMin: min,
      statusMax: max,
      isFailure: true,
    })),
    grpcRetryStatuses: route.grpcRetryStatuses,
  };
}

function toRetryBudget(annotations: Record<string, string> | undefined) {
  let budget: { ratio: number; minPerSecond: number; ttlMs: number } = DEFAULT_RETRY_BUDGET;
  try {
    budget = parseRetryBudget(annotations);
  } catch {
    // Reported in status and events by the traffic controller; proxies get the defaults.
  }
  return { retryRatio: budget.ratio, minRetriesPerSecond: budget.minPerSecond, ttl: duration(budget.ttlMs) };
}

function duration(ms: number) {
  return create(DurationSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
}
