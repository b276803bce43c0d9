import type { Resource } from '../resource.ts';
import type { LabelSelector } from '../selector.ts';

/** Core (`v1`) kinds, in the subset of their Kubernetes shape that Strait uses. */

export type Namespace = Resource<Record<string, never>, { phase?: 'Active' | 'Terminating' }>;

export type ServiceAccount = Resource<never, never>;

export interface ServicePort {
  name?: string;
  port: number;
  /** Number, or the name of a workload port. Defaults to `port`. */
  targetPort?: number | string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  /** `http`, `kubernetes.io/h2c`, `strait.io/opaque` (or `linkerd.io/opaque`). */
  appProtocol?: string;
  nodePort?: number;
}

export interface ServiceSpec {
  /** Absent for services whose Endpoints are written by a controller (mirrors). */
  selector?: Record<string, string>;
  ports: ServicePort[];
  /** `None` for headless services. */
  clusterIP?: string;
  /** Every family's cluster IP, the first equal to `clusterIP` (dual-stack clusters). */
  clusterIPs?: string[];
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
}

export interface ServiceStatus {
  loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] };
}

export type Service = Resource<ServiceSpec, ServiceStatus>;

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind: string; name: string; namespace?: string; uid?: string };
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

export interface Endpoints extends Resource<never, never> {
  subsets?: EndpointSubset[];
}

export interface Secret extends Resource<never, never> {
  type?: string;
  /** Base64-encoded values. */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface ConfigMap extends Resource<never, never> {
  data?: Record<string, string>;
}

/** A `v1` Event about an object. */
export interface Event extends Resource<never, never> {
  involvedObject: { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  source?: { component: string };
}

export type { LabelSelector };
