import type { Endpoints, Service } from '../../core/api/core.ts';
import type { Workload } from '../../core/api/local.ts';
import type { HTTPRoute, TrafficSplit } from '../../core/api/traffic.ts';
import type { Resource } from '../../core/resource.ts';
import type { SplitOutcome } from '../traffic/split-tracker.ts';
import { SplitTracker } from '../traffic/split-tracker.ts';
import type { TranslationContext } from './endpoint-set.ts';
import { KeyIndex } from './key-index.ts';
import { describeWorkload, type Pod, type WorkloadInfo, workloadKey } from './workloads.ts';

/** Kinds the destination service reads. */
export const DESTINATION_KINDS = [
  'Service',
  'Endpoints',
  'Workload',
  'Pod',
  'TrafficSplit',
  'HTTPRoute',
] as const;

/** What one resource event changed: dependency keys of watches, and split outcomes for status. */
export interface StateChange {
  dependencies: string[];
  outcomes: SplitOutcome[];
}

/**
 * The destination service's view of a cluster, indexed for its lookups:
 * services and endpoints by name, workloads by name and IP, endpoints by the
 * workloads they point at, splits by namespace. Fed by informer events.
 */
export class DestinationState implements TranslationContext {
  readonly trustDomain: string;
  readonly controlPlaneNamespace: string;
  readonly splits: SplitTracker;
  readonly #services = new Map<string, Service>();
  readonly #endpoints = new Map<string, Endpoints>();
  /** The informer's own objects, described on use: no second copy of 30,000 workloads. */
  readonly #workloads = new Map<string, Workload | Pod>();
  readonly #byIp = new KeyIndex();
  readonly #servicesByClusterIp = new KeyIndex();
  readonly #endpointsByWorkload = new KeyIndex();
  readonly #trafficSplits = new Map<string, Map<string, TrafficSplit>>();
  readonly #httpRoutes = new Map<string, Map<string, HTTPRoute>>();

  constructor(options: { trustDomain: string; controlPlaneNamespace: string }) {
    this.trustDomain = options.trustDomain;
    this.controlPlaneNamespace = options.controlPlaneNamespace;
    this.splits = new SplitTracker((namespace, name) => this.#services.has(`${namespace}/${name}`));
  }

  service(namespace: string, name: string): Service | undefined {
    return this.#services.get(`${namespace}/${name}`);
  }

  endpoints(namespace: string, name: string): Endpoints | undefined {
    return this.#endpoints.get(`${namespace}/${name}`);
  }

  /**
   * The Service whose cluster IP this is, if any: what a transparently
   * proxied connection to a Service's virtual address stands for.
   */
  serviceByClusterIp(ip: string): { namespace: string; name: string } | undefined {
    const key = this.#servicesByClusterIp.get(ip)[0];
    if (key === undefined) return undefined;
    const [namespace, name] = key.split('/') as [string, string];
    return { namespace, name };
  }

  workload(kind: string, namespace: string, name: string): WorkloadInfo | undefined {
    const object = this.#workloads.get(workloadKey(kind, namespace, name));
    return object && describeWorkload(object);
  }

  workloadByIp(ip: string): WorkloadInfo | undefined {
    const infos = this.#byIp.get(ip).map((key) => {
      const object = this.#workloads.get(key);
      return object && describeWorkload(object);
    });
    return infos.find((info) => info?.meshed) ?? infos[0];
  }

  httpRoutes(namespace: string): HTTPRoute[] {
    return [...(this.#httpRoutes.get(namespace)?.values() ?? [])];
  }

  /** Applies an added or modified object (`deleted` false) or a deleted one. */
  apply(object: Resource, deleted: boolean): StateChange {
    const namespace = object.metadata.namespace ?? 'default';
    const key = `${namespace}/${object.metadata.name}`;
    switch (object.kind) {
      case 'Service': {
        const clusterIps = new Set(clusterIpsOf(this.#services.get(key)));
        for (const ip of clusterIps) this.#servicesByClusterIp.remove(ip, key);
        if (deleted) this.#services.delete(key);
        else {
          this.#services.set(key, object as Service);
          for (const ip of clusterIpsOf(object as Service)) {
            this.#servicesByClusterIp.add(ip, key);
            clusterIps.add(ip);
          }
        }
        // A backend may live in another namespace than its split: look again at every split.
        const namespaces = new Set([namespace, ...this.#trafficSplits.keys(), ...this.#httpRoutes.keys()]);
        const outcomes = [...namespaces].flatMap((ns) => this.#refreshSplits(ns));
        const dependencies = new Set([`svc:${key}`, `ns:${namespace}`]);
        for (const ip of clusterIps) dependencies.add(`ip:${ip}`);
        for (const outcome of outcomes) {
          dependencies.add(`ns:${outcome.source.namespace}`);
          dependencies.add(`split:${outcome.source.namespace}`);
        }
        return { dependencies: [...dependencies], outcomes };
      }
      case 'Endpoints': {
        this.#unindexEndpoints(key);
        if (deleted) this.#endpoints.delete(key);
        else {
          this.#endpoints.set(key, object as Endpoints);
          this.#indexEndpoints(key, object as Endpoints);
        }
        return { dependencies: [`svc:${key}`], outcomes: [] };
      }
      case 'Workload':
      case 'Pod':
        return { dependencies: this.#applyWorkload(object as Workload | Pod, deleted), outcomes: [] };
      case 'TrafficSplit':
      case 'HTTPRoute': {
        const byNamespace = (object.kind === 'TrafficSplit' ? this.#trafficSplits : this.#httpRoutes) as Map<
          string,
          Map<string, Resource>
        >;
        let map = byNamespace.get(namespace);
        if (!map) {
          map = new Map();
          byNamespace.set(namespace, map);
        }
        if (deleted) map.delete(object.metadata.name);
        else map.set(object.metadata.name, object);
        if (map.size === 0) byNamespace.delete(namespace);
        return {
          dependencies: [`ns:${namespace}`, `split:${namespace}`],
          outcomes: this.#refreshSplits(namespace),
        };
      }
      default:
        return { dependencies: [], outcomes: [] };
    }
  }

  #refreshSplits(namespace: string): SplitOutcome[] {
    const splits = [...(this.#trafficSplits.get(namespace)?.values() ?? [])];
    const routes = this.httpRoutes(namespace);
    return this.splits.refresh(namespace, splits, routes);
  }

  #applyWorkload(object: Workload | Pod, deleted: boolean): string[] {
    const namespace = object.metadata.namespace ?? 'default';
    const key = workloadKey(object.kind, namespace, object.metadata.name);
    const previous = this.#workloads.get(key);
    const before = previous && describeWorkload(previous);
    const after = deleted ? undefined : describeWorkload(object);
    const dependencies = new Set<string>();
    for (const ip of before?.ips ?? []) {
      this.#byIp.remove(ip, key);
      dependencies.add(`ip:${ip}`);
    }
    if (after) {
      this.#workloads.set(key, object);
      for (const ip of after.ips) {
        this.#byIp.add(ip, key);
        dependencies.add(`ip:${ip}`);
      }
    } else this.#workloads.delete(key);
    for (const endpointsKey of this.#endpointsByWorkload.get(key)) dependencies.add(`svc:${endpointsKey}`);
    return [...dependencies];
  }

  #indexEndpoints(key: string, endpoints: Endpoints): void {
    const namespace = endpoints.metadata.namespace ?? 'default';
    for (const subset of endpoints.subsets ?? []) {
      for (const address of subset.addresses ?? []) {
        const ref = address.targetRef;
        if (!ref) continue;
        const workload = workloadKey(ref.kind, ref.namespace ?? namespace, ref.name);
        this.#endpointsByWorkload.add(workload, key);
      }
    }
  }

  #unindexEndpoints(key: string): void {
    const endpoints = this.#endpoints.get(key);
    if (!endpoints) return;
    const namespace = endpoints.metadata.namespace ?? 'default';
    for (const subset of endpoints.subsets ?? []) {
      for (const address of subset.addresses ?? []) {
        const ref = address.targetRef;
        if (!ref) continue;
        const workload = workloadKey(ref.kind, ref.namespace ?? namespace, ref.name);
        this.#endpointsByWorkload.remove(workload, key);
      }
    }
  }
}

/** A Service's virtual addresses: none for a headless one. */
function clusterIpsOf(service: Service | undefined): string[] {
  const spec = service?.spec;
  const ips = spec?.clusterIPs ?? (spec?.clusterIP ? [spec.clusterIP] : []);
  return ips.filter((ip) => ip !== '' && ip !== 'None');
}
