import type { DestinationProfile } from '../../gen/strait/destination/v1/destination_pb.js';

/** A status range of a route and whether responses in it count as failures. */
export interface ResponseClass {
  min: number;
  max: number;
  isFailure: boolean;
}

/** One route of a profile: which requests it covers and how they are treated. */
export interface ProfileRoute {
  name: string;
  /** Matches the request path (without the query); undefined matches every path. */
  path: RegExp | undefined;
  /** Upper-case method; empty matches every method. */
  method: string;
  isRetryable: boolean;
  /** 0: no route timeout. */
  timeoutMs: number;
  responseClasses: ResponseClass[];
  /** gRPC statuses (grpc-status values) retried on this route when it is retryable. */
  grpcRetryStatuses: ReadonlySet<string>;
}

/** A route's gRPC retry statuses when the destination names none: UNAVAILABLE (14), the one status that says the call was not handled. */
const GRPC_UNAVAILABLE_ONLY: ReadonlySet<string> = new Set(['14']);

/** A weighted backend that replaces the target (TrafficSplit / HTTPRoute). */
export interface DstOverride {
  authority: string;
  weight: number;
  backend: string;
  /**
   * Set when this backend is the apex itself (`<namespace>/<service>`, as
   * `EndpointHandle.group`): the apex's Get merges every backend of the split,
   * so its own share keeps to its own endpoints or it would be split twice.
   */
  ownGroup?: string;
}

/** What the destination service says about how to send requests to a target. */
export interface Profile {
  routes: ProfileRoute[];
  retryBudget?: { retryRatio: number; minRetriesPerSecond: number; ttlMs: number };
  dstOverrides: DstOverride[];
}

/** A target with no profile: no routes, no overrides. */
export const EMPTY_PROFILE: Profile = Object.freeze({ routes: [], dstOverrides: [] }) as Profile;

/**
 * Where profiles come from. `watchProfile` calls `onProfile` with the current
 * profile and again on every change, until the returned function is called.
 */
export interface ProfileSource {
  watchProfile(
    target: string,
    onProfile: (profile: Profile) => void,
    onError: (error: Error) => void,
  ): () => void;
}

/** The first route matching `method` and `path` (query ignored), if any. */
export function matchRoute(profile: Profile, method: string, path: string): ProfileRoute | undefined {
  if (profile.routes.length === 0) return undefined;
  const query = path.indexOf('?');
  const bare = query === -1 ? path : path.slice(0, query);
  for (const route of profile.routes) {
    if (route.method !== '' && route.method !== method) continue;
    if (route.path && !route.path.test(bare)) continue;
    return route;
  }
  return undefined;
}

/** Whether `status` is a failure under `route`'s response classes (default: 5xx). */
export function isFailureStatus(route: ProfileRoute | undefined, status: number): boolean {
  if (route) {
    for (const c of route.responseClasses) if (status >= c.min && status <= c.max) return c.isFailure;
  }
  return status >= 500;
}

/** Picks a backend of `overrides` by weight; undefined when all weights are 0. */
export function pickOverride(overrides: DstOverride[], random = Math.random): DstOverride | undefined {
  if (overrides.length === 0) return undefined;
  let total = 0;
  for (const o of overrides) total += o.weight;
  if (total <= 0) return undefined;
  let point = random() * total;
  for (const o of overrides) {
    point -= o.weight;
    if (point < 0) return o;
  }
  return overrides[overrides.length - 1];
}

/**
 * Converts a profile from the destination service. A route whose path
 * pattern does not compile is dropped (reported through `onBadRoute`), so the
 * rest of the profile still applies.
 */
export function profileFromProto(
  message: DestinationProfile,
  onBadRoute: (route: string, reason: string) => void = () => {},
): Profile {
  const routes: ProfileRoute[] = [];
  for (const route of message.routes) {
    let path: RegExp | undefined;
    const pattern = route.condition?.pathRegex ?? '';
    if (pattern !== '') {
      try {
        path = new RegExp(pattern.startsWith('^') ? pattern : `^(?:${pattern})$`);
      } catch (error) {
        onBadRoute(route.name, `path pattern ${JSON.stringify(pattern)}: ${(error as Error).message}`);
        continue;
      }
    }
    routes.push({
      name: route.name,
      path,
      method: (route.condition?.method ?? '').toUpperCase(),
      isRetryable: route.isRetryable,
      timeoutMs: route.timeout
        ? Number(route.timeout.seconds) * 1000 + Math.floor(route.timeout.nanos / 1e6)
        : 0,
      responseClasses: route.responseClasses.map((c) => ({
        min: c.statusMin,
        max: c.statusMax,
        isFailure: c.isFailure,
      })),
      grpcRetryStatuses:
        route.grpcRetryStatuses.length > 0
          ? new Set(route.grpcRetryStatuses.map(String))
          : GRPC_UNAVAILABLE_ONLY,
    });
  }
  const profile: Profile = {
    routes,
    dstOverrides: message.dstOverrides
      .filter((o) => o.authority !== '')
      .map((o) => {
        const override: DstOverride = { authority: o.authority, weight: o.weight, backend: o.backend };
        if (message.fullyQualifiedName !== '' && o.authority.startsWith(`${message.fullyQualifiedName}:`)) {
          const [service, namespace] = message.fullyQualifiedName.split('.');
          override.ownGroup = `${namespace}/${service}`;
        }
        return override;
      }),
  };
  const budget = message.retryBudget;
  if (budget) {
    profile.retryBudget = {
      retryRatio: budget.retryRatio,
      minRetriesPerSecond: budget.minRetriesPerSecond,
      ttlMs: budget.ttl ? Number(budget.ttl.seconds) * 1000 + Math.floor(budget.ttl.nanos / 1e6) : 10_000,
    };
  }
  return profile;
}

/** gRPC status codes that say the server side is unwell: they count against the endpoint. */
const GRPC_SERVER_FAILURES = new Set(['2', '13', '14', '15']);

/**
 * Whether a response is a failure: a non-OK `grpc-status` for gRPC (Linkerd's
 * gRPC response class), else the route's classes on the HTTP status.
 */
export function isFailureResponse(
  route: ProfileRoute | undefined,
  status: number,
  grpcStatus: string | undefined,
): boolean {
  if (grpcStatus !== undefined && grpcStatus !== '0') return true;
  return isFailureStatus(route, status);
}

/** Whether a response should count as a failure of the endpoint that gave it (its breaker). */
export function isEndpointFailure(status: number, grpcStatus: string | undefined): boolean {
  return status >= 500 || (grpcStatus !== undefined && GRPC_SERVER_FAILURES.has(grpcStatus));
}

/**
 * Whether a response may be retried: a gRPC call on the route's gRPC retry
 * statuses (UNAVAILABLE unless the route names others; UNAVAILABLE without
 * a route); other responses on a retryable route's failure classes, or
 * without a route 502–504.
 */
export function isRetryableResponse(
  route: ProfileRoute | undefined,
  status: number,
  grpcStatus: string | undefined,
): boolean {
  if (grpcStatus !== undefined) return (route?.grpcRetryStatuses ?? GRPC_UNAVAILABLE_ONLY).has(grpcStatus);
  return route ? isFailureStatus(route, status) : status >= 502 && status <= 504;
}
