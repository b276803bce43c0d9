import type { Resource } from '../resource.ts';
import type { Condition } from './conditions.ts';

/** SMI TrafficSplit (`split.smi-spec.io/v1alpha2`), unchanged. */
export interface TrafficSplitSpec {
  /** The apex service clients call. */
  service: string;
  backends: { service: string; weight: number }[];
}

export interface TrafficSplitStatus {
  conditions?: Condition[];
  /** Failover operator state. */
  failover?: {
    state: 'Primary' | 'Failover' | 'FailingBack';
    reason: string;
    since: string;
    activeBackends?: string[];
    /** Flap damping: the score (a decimal) as of `at`; it halves every flap half-life from then. */
    flap?: { score: string; at: string };
  };
}

export type TrafficSplit = Resource<TrafficSplitSpec, TrafficSplitStatus>;

/** Gateway API HTTPRoute (`gateway.networking.k8s.io/v1`), the subset meshes use. */
export interface HTTPRouteSpec {
  parentRefs: { group?: string; kind?: string; name: string; namespace?: string; port?: number }[];
  hostnames?: string[];
  rules?: {
    matches?: {
      path?: { type?: 'PathPrefix' | 'Exact' | 'RegularExpression'; value?: string };
      method?: string;
      headers?: { type?: 'Exact' | 'RegularExpression'; name: string; value: string }[];
    }[];
    backendRefs?: {
      group?: string;
      kind?: string;
      name: string;
      namespace?: string;
      port?: number;
      weight?: number;
    }[];
    timeouts?: { request?: string; backendRequest?: string };
  }[];
}

export interface HTTPRouteStatus {
  parents?: { parentRef: { name: string; kind?: string }; controllerName: string; conditions: Condition[] }[];
}

export type HTTPRoute = Resource<HTTPRouteSpec, HTTPRouteStatus>;
