import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import {
  type DestinationProfile,
  DestinationService,
  type GetDestination,
  type Update,
} from '../../gen/strait/destination/v1/destination_pb.js';
import { type EndpointSet, ipEndpointSet, serviceEndpointSet } from './endpoint-set.ts';
import { ipProfile, sameProfile, serviceProfile } from './profile.ts';
import { splitEndpointSet } from './split-endpoints.ts';
import type { DestinationState } from './state.ts';
import {
  InvalidTargetError,
  type IpTarget,
  parseTarget,
  type ServiceTarget,
  type Target,
  targetKey,
} from './target.ts';
import { diffUpdates, snapshotUpdates } from './updates.ts';
import { type Computed, type Subscription, valuesOf, WatchRegistry } from './watch-registry.ts';

/** The watches behind the Destination API: one per target, shared by every stream asking for it. */
export class DestinationWatches {
  readonly endpoints = new WatchRegistry<EndpointSet>();
  readonly profiles = new WatchRegistry<DestinationProfile>();
  readonly #state: DestinationState;
  readonly #clusterDomain: string;
  readonly #diffs = new WeakMap<EndpointSet, { to: EndpointSet; updates: Update[] }>();

  constructor(state: DestinationState, clusterDomain: string) {
    this.#state = state;
    this.#clusterDomain = clusterDomain;
  }

  /** Marks the watches that read any of `dependencies` for recompute. */
  invalidate(dependencies: Iterable<string>): void {
    const list = [...dependencies];
    this.endpoints.invalidate(list);
    this.profiles.invalidate(list);
  }

  parse(path: string): Target {
    return parseTarget(path, this.#clusterDomain);
  }

  watchEndpoints(target: Target): Subscription<EndpointSet> {
    return this.endpoints.subscribe(
      targetKey(target),
      () => this.#endpointSet(target),
      (a, b) => this.diff(a, b).length === 0,
    );
  }

  watchProfile(target: Target): Subscription<DestinationProfile> {
    return this.profiles.subscribe(targetKey(target), () => this.#profile(target), sameProfile);
  }

  /** Updates from one set to the next, computed once for every stream making the same step. */
  diff(from: EndpointSet, to: EndpointSet): Update[] {
    const cached = this.#diffs.get(from);
    if (cached?.to === to) return cached.updates;
    const updates = diffUpdates(from, to);
    this.#diffs.set(from, { to, updates });
    return updates;
  }

  #endpointSet(target: Target): Computed<EndpointSet> {
    if (target.kind === 'ip') {
      const service = this.#serviceAt(target);
      if (!service) return { value: ipEndpointSet(target, this.#state), dependencies: [`ip:${target.ip}`] };
      const computed = this.#endpointSet(service);
      return { value: computed.value, dependencies: [...computed.dependencies, `ip:${target.ip}`] };
    }
    const key = `${target.namespace}/${target.name}`;
    const split =
      target.hostname === undefined
        ? this.#state.splits.backendsFor(target.namespace, target.name, target.port)
        : undefined;
    if (split?.serving) {
      const { set, services } = splitEndpointSet(target, split.serving, this.#state);
      const dependencies = [`svc:${key}`, `split:${target.namespace}`, ...services.map((s) => `svc:${s}`)];
      return { value: set, dependencies };
    }
    const value = serviceEndpointSet(
      target,
      this.#state.service(target.namespace, target.name),
      this.#state.endpoints(target.namespace, target.name),
      this.#state,
    );
    return { value, dependencies: [`svc:${key}`, `split:${target.namespace}`] };
  }

  /** A connection to a Service's cluster IP is a connection to that Service, as if called by name. */
  #serviceAt(target: IpTarget): ServiceTarget | undefined {
    const service = this.#state.serviceByClusterIp(target.ip);
    return service && { kind: 'service', ...service, port: target.port };
  }

  #profile(target: Target): Computed<DestinationProfile> {
    if (target.kind === 'ip') {
      const service = this.#serviceAt(target);
      if (!service) return { value: ipProfile(target, this.#state), dependencies: [`ip:${target.ip}`] };
      const computed = this.#profile(service);
      return { value: computed.value, dependencies: [...computed.dependencies, `ip:${target.ip}`] };
    }
    return {
      value: serviceProfile(target, this.#state, this.#clusterDomain),
      dependencies: [`svc:${target.namespace}/${target.name}`, `ns:${target.namespace}`],
    };
  }
}

/** The Destination gRPC service over shared watches. */
export function destinationServiceImpl(watches: DestinationWatches): ServiceImpl<typeof DestinationService> {
  return {
    async *get(request: GetDestination, context: HandlerContext) {
      const subscription = watches.watchEndpoints(parseOrReject(watches, request.path));
      let delivered: EndpointSet | undefined;
      for await (const next of valuesOf(subscription, context.signal)) {
        yield* delivered === undefined ? snapshotUpdates(next) : watches.diff(delivered, next);
        delivered = next;
      }
    },
    async *getProfile(request: GetDestination, context: HandlerContext) {
      yield* valuesOf(watches.watchProfile(parseOrReject(watches, request.path)), context.signal);
    },
  };
}

function parseOrReject(watches: DestinationWatches, path: string): Target {
  try {
    return watches.parse(path);
  } catch (error) {
    if (error instanceof InvalidTargetError) {
      throw new ConnectError(
        `${error.message} (${error.code})`,
        Code.InvalidArgument,
        undefined,
        undefined,
        error,
      );
    }
    throw error;
  }
}

export { DestinationService };
