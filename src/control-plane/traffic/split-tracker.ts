import type { HTTPRoute, TrafficSplit } from '../../core/api/traffic.ts';
import { checkTrafficAnnotations } from './annotations.ts';
import type { BackendProblem, WeightedBackend } from './backends.ts';
import { resolveHttpRouteBackends, routeAttachesTo, serviceParents } from './http-route.ts';
import { byAge, resolveTrafficSplit } from './traffic-split.ts';

/** Where a split comes from. */
export interface SplitSource {
  kind: 'TrafficSplit' | 'HTTPRoute';
  namespace: string;
  name: string;
  uid: string;
  generation: number | undefined;
}

/** The outcome of one TrafficSplit or HTTPRoute, as its status reports it. */
export interface SplitOutcome {
  source: SplitSource;
  /** Apex services, `namespace/name`. */
  apexes: string[];
  problems: BackendProblem[];
  /** Bad traffic annotations (the profile falls back to defaults for them). */
  annotationProblems: string[];
  /** What proxies are given: the current backends when valid, else the last good ones, else none. */
  serving: WeightedBackend[] | undefined;
  /** Whether `serving` is a last good split kept while the current one is invalid. */
  servingLastGood: boolean;
}

/**
 * Resolves every TrafficSplit and weighted HTTPRoute of a namespace and
 * remembers the last good backends of each, so an invalid edit keeps the
 * traffic where it was. Sources are told apart by uid, so a deleted and
 * recreated object starts afresh.
 */
export class SplitTracker {
  readonly #serviceExists: (namespace: string, name: string) => boolean;
  readonly #lastGood = new Map<string, WeightedBackend[]>();
  readonly #byNamespace = new Map<
    string,
    { splits: TrafficSplit[]; routes: HTTPRoute[]; outcomes: Map<string, SplitOutcome> }
  >();

  constructor(serviceExists: (namespace: string, name: string) => boolean) {
    this.#serviceExists = serviceExists;
  }

  /**
   * Resolves the namespace again from its current TrafficSplits and
   * HTTPRoutes, returning the outcomes that changed since the last call.
   */
  refresh(namespace: string, splits: TrafficSplit[], routes: HTTPRoute[]): SplitOutcome[] {
    const previous = this.#byNamespace.get(namespace)?.outcomes ?? new Map<string, SplitOutcome>();
    const outcomes = new Map<string, SplitOutcome>();
    const alive = new Set<string>();
    for (const split of [...splits].sort(byAge)) {
      const source = sourceOf('TrafficSplit', split);
      alive.add(source.uid);
      const resolution = resolveTrafficSplit(split, this.#serviceExists);
      const apex = split.spec?.service ? [`${namespace}/${split.spec.service}`] : [];
      outcomes.set(source.uid, this.#outcome(source, apex, resolution.backends, resolution.problems, split));
    }
    for (const route of [...routes].sort(byAge)) {
      const resolution = resolveHttpRouteBackends(route, this.#serviceExists);
      const source = sourceOf('HTTPRoute', route);
      alive.add(source.uid);
      const apexes = serviceParents(route);
      outcomes.set(
        source.uid,
        this.#outcome(source, apexes, resolution?.backends, resolution?.problems ?? [], route),
      );
    }
    for (const uid of previous.keys()) if (!alive.has(uid)) this.#lastGood.delete(uid);
    if (splits.length === 0 && routes.length === 0) this.#byNamespace.delete(namespace);
    else this.#byNamespace.set(namespace, { splits, routes, outcomes });
    return [...outcomes.values()].filter((o) => !sameOutcome(previous.get(o.source.uid), o));
  }

  /**
   * The backends proxies calling `namespace/service` on `port` are given:
   * the oldest TrafficSplit for that apex first, then the oldest weighted
   * HTTPRoute attached to it. Undefined when nothing splits the service.
   */
  backendsFor(namespace: string, service: string, port: number): SplitOutcome | undefined {
    const entry = this.#byNamespace.get(namespace);
    if (!entry) return undefined;
    const apex = `${namespace}/${service}`;
    for (const split of entry.splits) {
      if (split.spec?.service !== service) continue;
      const outcome = entry.outcomes.get(sourceOf('TrafficSplit', split).uid);
      if (outcome?.serving) return outcome;
    }
    for (const route of entry.routes) {
      if (!routeAttachesTo(route, namespace, service, port)) continue;
      const outcome = entry.outcomes.get(sourceOf('HTTPRoute', route).uid);
      if (outcome?.serving && outcome.apexes.includes(apex)) return outcome;
    }
    return undefined;
  }

  /** Current outcomes of a namespace (for status writers that start late). */
  outcomes(namespace: string): SplitOutcome[] {
    return [...(this.#byNamespace.get(namespace)?.outcomes.values() ?? [])];
  }

  #outcome(
    source: SplitSource,
    apexes: string[],
    backends: WeightedBackend[] | undefined,
    problems: BackendProblem[],
    object: TrafficSplit | HTTPRoute,
  ): SplitOutcome {
    const annotationProblems = checkTrafficAnnotations(object.metadata.annotations);
    if (!backends && problems.length === 0) {
      this.#lastGood.delete(source.uid);
      return { source, apexes, problems, annotationProblems, serving: undefined, servingLastGood: false };
    }
    if (backends && problems.length === 0) {
      this.#lastGood.set(source.uid, backends);
      return { source, apexes, problems, annotationProblems, serving: backends, servingLastGood: false };
    }
    const lastGood = this.#lastGood.get(source.uid);
    return {
      source,
      apexes,
      problems,
      annotationProblems,
      serving: lastGood,
      servingLastGood: lastGood !== undefined,
    };
  }
}

function sourceOf(kind: SplitSource['kind'], object: TrafficSplit | HTTPRoute): SplitSource {
  const namespace = object.metadata.namespace ?? 'default';
  return {
    kind,
    namespace,
    name: object.metadata.name,
    uid: object.metadata.uid ?? `${kind}:${namespace}/${object.metadata.name}`,
    generation: object.metadata.generation,
  };
}

function sameOutcome(a: SplitOutcome | undefined, b: SplitOutcome): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
