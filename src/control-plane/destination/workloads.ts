import type { Workload } from '../../core/api/local.ts';
import { Ports } from '../../core/api/names.ts';
import type { Resource } from '../../core/resource.ts';

/** The subset of a Kubernetes Pod the control plane reads. */
export type Pod = Resource<
  {
    serviceAccountName?: string;
    containers?: { name: string; ports?: { name?: string; containerPort: number }[] }[];
  },
  { podIP?: string; podIPs?: { ip: string }[] }
>;

/** Name of the proxy container injected into Kubernetes pods. */
export const PROXY_CONTAINER_NAME = 'strait-proxy';

/** What endpoint translation and policy need to know about a pod-like workload. */
export interface WorkloadInfo {
  kind: 'Workload' | 'Pod';
  namespace: string;
  name: string;
  serviceAccount: string;
  /** Whether a proxy runs beside the application. */
  meshed: boolean;
  /** The peer proxy's inbound port, where other proxies connect with mTLS. */
  inboundPort: number;
  /** Addresses the workload is reachable at. */
  ips: string[];
  /** Named application ports, for named Server ports. */
  ports: { name?: string; port: number }[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Cache key of a workload: `Workload:ns/name` or `Pod:ns/name`. */
export function workloadKey(kind: string, namespace: string, name: string): string {
  return `${kind}:${namespace}/${name}`;
}

/** Reads a local Workload or a Kubernetes Pod into the shape the control plane uses. */
export function describeWorkload(object: Workload | Pod): WorkloadInfo | undefined {
  const namespace = object.metadata.namespace ?? 'default';
  const common = {
    namespace,
    name: object.metadata.name,
    labels: object.metadata.labels ?? {},
    annotations: object.metadata.annotations ?? {},
  };
  if (object.kind === 'Workload') {
    const spec = (object as Workload).spec;
    const status = (object as Workload).status;
    const ips = [status?.address, spec?.address].filter((ip): ip is string => Boolean(ip));
    return {
      ...common,
      kind: 'Workload',
      serviceAccount: spec?.serviceAccountName || 'default',
      meshed: spec?.proxy !== undefined,
      inboundPort: spec?.proxy?.inboundPort ?? Ports.proxyInbound,
      ips: [...new Set(ips)],
      ports: (spec?.ports ?? []).map((p) => (p.name ? { name: p.name, port: p.port } : { port: p.port })),
    };
  }
  if (object.kind === 'Pod') {
    const pod = object as Pod;
    const containers = pod.spec?.containers ?? [];
    const ips = [pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p.ip)];
    return {
      ...common,
      kind: 'Pod',
      serviceAccount: pod.spec?.serviceAccountName || 'default',
      meshed: containers.some((c) => c.name === PROXY_CONTAINER_NAME),
      inboundPort: Ports.proxyInbound,
      ips: [...new Set(ips.filter((ip): ip is string => Boolean(ip)))],
      ports: containers
        .filter((c) => c.name !== PROXY_CONTAINER_NAME)
        .flatMap((c) => c.ports ?? [])
        .map((p) => (p.name ? { name: p.name, port: p.containerPort } : { port: p.containerPort })),
    };
  }
  return undefined;
}
