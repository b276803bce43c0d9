import type { HTTPRoute, HTTPRouteSpec } from '../../core/api/traffic.ts';
import { parseGrpcStatuses, parseStatusRanges, parseTimeout, TrafficAnnotations } from './annotations.ts';
import { type BackendProblem, checkBackends, type WeightedBackend } from './backends.ts';
import type { SplitResolution } from './traffic-split.ts';

type Rule = NonNullable<HTTPRouteSpec['rules']>[number];
type ParentRef = HTTPRouteSpec['parentRefs'][number];

/** A route as proxies see it (the plain form of the proto's Route). */
export interface RouteSpec {
  name: string;
  /** Regular expression on the path; empty matches every path. */
  pathRegex: string;
  /** Upper-case method; empty matches every method. */
  method: string;
  timeoutMs?: number;
  retryable: boolean;
  /** Inclusive status ranges counted as failures (and retried when retryable). */
  failureClasses: [number, number][];
  /** gRPC status codes retried when retryable; empty: UNAVAILABLE alone. */
  grpcRetryStatuses: number[];
}

type RetryPolicy = Pick<RouteSpec, 'retryable' | 'failureClasses' | 'grpcRetryStatuses'>;

/**
 * Retries an object's annotations ask for: `retry.strait.io/http` (statuses that fail and are
 * retried) and `retry.strait.io/grpc` (gRPC statuses retried); either makes its routes retryable.
 * A value that does not parse counts as absent.
 */
function retryPolicy(annotations: Record<string, string> | undefined): RetryPolicy {
  const http = annotations?.[TrafficAnnotations.retryHttp];
  const grpc = annotations?.[TrafficAnnotations.retryGrpc];
  const failureClasses = http === undefined ? undefined : tryParse(() => parseStatusRanges(http));
  const grpcRetryStatuses = grpc === undefined ? undefined : tryParse(() => parseGrpcStatuses(grpc));
  return {
    retryable: failureClasses !== undefined || grpcRetryStatuses !== undefined,
    failureClasses: failureClasses ?? [],
    grpcRetryStatuses: grpcRetryStatuses ?? [],
  };
}

/** Whether a parentRef names a Service: Gateway API's mesh pattern. */
export function isServiceParent(ref: ParentRef): boolean {
  return ref.kind === 'Service' && ['', 'core'].includes(ref.group ?? '');
}

/** Whether an HTTPRoute is attached to the service `namespace/name` on `port`. */
export function routeAttachesTo(route: HTTPRoute, namespace: string, name: string, port: number): boolean {
  const routeNamespace = route.metadata.namespace ?? 'default';
  return (route.spec?.parentRefs ?? []).some(
    (ref) =>
      isServiceParent(ref) &&
      ref.name === name &&
      (ref.namespace ?? routeNamespace) === namespace &&
      (ref.port === undefined || ref.port === port),
  );
}

/** Services an HTTPRoute is attached to, as `namespace/name`. */
export function serviceParents(route: HTTPRoute): string[] {
  const routeNamespace = route.metadata.namespace ?? 'default';
  return (route.spec?.parentRefs ?? [])
    .filter(isServiceParent)
    .map((ref) => `${ref.namespace ?? routeNamespace}/${ref.name}`);
}

/**
 * The weighted backends of an HTTPRoute: those of its catch-all rule (no
 * matches, or `PathPrefix /` alone), else of its first rule with backends.
 * Undefined when no rule has backends.
 */
export function resolveHttpRouteBackends(
  route: HTTPRoute,
  serviceExists: (namespace: string, name: string) => boolean,
): SplitResolution | undefined {
  const rules = route.spec?.rules ?? [];
  const withBackends = rules
    .map((rule, index) => ({ rule, index }))
    .filter(({ rule }) => (rule.backendRefs?.length ?? 0) > 0);
  const chosen = withBackends.find(({ rule }) => isCatchAll(rule)) ?? withBackends[0];
  if (!chosen) return undefined;
  const namespace = route.metadata.namespace ?? 'default';
  const extra: BackendProblem[] = [];
  const backends: WeightedBackend[] = (chosen.rule.backendRefs ?? []).map((ref, i) => {
    if ((ref.kind ?? 'Service') !== 'Service' || !['', 'core'].includes(ref.group ?? '')) {
      extra.push({
        reason: 'UnsupportedBackend',
        message: `spec.rules[${chosen.index}].backendRefs[${i}]: kind ${ref.kind} is not a Service`,
      });
    }
    const backend: WeightedBackend = {
      service: ref.name,
      namespace: ref.namespace ?? namespace,
      weight: ref.weight ?? 1,
    };
    if (ref.port !== undefined) backend.port = ref.port;
    return backend;
  });
  const problems = [
    ...extra,
    ...checkBackends(backends, serviceExists, (i) => `spec.rules[${chosen.index}].backendRefs[${i}]`),
  ];
  return { backends, problems };
}

/**
 * Routes of an HTTPRoute, one per match (a rule without matches gives one
 * catch-all route). Timeouts come from the rule, else the route's
 * `timeout.strait.io/request`; retries from `retry.strait.io/http` and `retry.strait.io/grpc`.
 * Annotation values that do not parse are left out (status reports them).
 */
export function routesOf(route: HTTPRoute): RouteSpec[] {
  const annotations = route.metadata.annotations ?? {};
  const defaultTimeout = tryParse(() => parseTimeout(annotations[TrafficAnnotations.requestTimeout] ?? ''));
  const retry = retryPolicy(annotations);
  const routes: RouteSpec[] = [];
  (route.spec?.rules ?? []).forEach((rule, ruleIndex) => {
    const timeoutText = rule.timeouts?.request;
    const timeoutMs = (timeoutText ? tryParse(() => parseTimeout(timeoutText)) : undefined) ?? defaultTimeout;
    const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
    matches.forEach((match, matchIndex) => {
      const spec: RouteSpec = {
        name: `${route.metadata.name}/rule-${ruleIndex}/match-${matchIndex}`,
        pathRegex: pathRegex(match.path),
        method: (match.method ?? '').toUpperCase(),
        ...retry,
      };
      if (timeoutMs !== undefined) spec.timeoutMs = timeoutMs;
      routes.push(spec);
    });
  });
  return routes;
}

/** A catch-all route for a service's own timeout and retry annotations, or undefined when it has none. */
export function serviceDefaultRoute(annotations: Record<string, string> | undefined): RouteSpec | undefined {
  const timeoutText = annotations?.[TrafficAnnotations.requestTimeout];
  const timeoutMs = timeoutText === undefined ? undefined : tryParse(() => parseTimeout(timeoutText));
  const retry = retryPolicy(annotations);
  if (timeoutMs === undefined && !retry.retryable) return undefined;
  const route: RouteSpec = { name: 'default', pathRegex: '', method: '', ...retry };
  if (timeoutMs !== undefined) route.timeoutMs = timeoutMs;
  return route;
}

function isCatchAll(rule: Rule): boolean {
  const matches = rule.matches ?? [];
  if (matches.length === 0) return true;
  return matches.some(
    (m) =>
      !m.method &&
      (m.headers?.length ?? 0) === 0 &&
      (!m.path || ((m.path.type ?? 'PathPrefix') === 'PathPrefix' && (m.path.value ?? '/') === '/')),
  );
}

function pathRegex(path: { type?: string; value?: string } | undefined): string {
  if (!path) return '';
  const value = path.value ?? '/';
  switch (path.type ?? 'PathPrefix') {
    case 'Exact':
      return `^${escapeRegex(value)}$`;
    case 'RegularExpression':
      return value;
    default: {
      const prefix = value.replace(/\/+$/, '');
      return prefix === '' ? '' : `^${escapeRegex(prefix)}(/.*)?$`;
    }
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function tryParse<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
