import type { EndpointAddress, EndpointPort, Endpoints, Service, ServicePort } from '../../core/api/core.ts';
import { Annotations, Labels } from '../../core/api/names.ts';
import type { LinkConfig } from '../link/link-config.ts';
import { isShortened, mirrorName, remoteFqName } from './naming.ts';

/** What a mirror depends on besides the remote objects. */
export interface MirrorContext {
  config: LinkConfig;
  /** Resolved gateway IPs, sorted. */
  gatewayIps: string[];
  gatewayAlive: boolean;
}

/** The local objects that stand for one exported remote Service. */
export interface DesiredMirror {
  service: Service;
  endpoints: Endpoints;
  /** Per-pod mirrors of a headless service (`<pod>-<cluster>`); empty otherwise. */
  endpointMirrors: { service: Service; endpoints: Endpoints }[];
}

const DROPPED_ANNOTATIONS = new Set([
  'service.kubernetes.io/topology-aware-hints',
  'service.kubernetes.io/topology-mode',
  'kubectl.kubernetes.io/last-applied-configuration',
]);

/**
 * Builds the mirror of `remote`: a selector-less Service `<svc>-<cluster>` in
 * the same namespace with the same ports, and Endpoints at the gateway with
 * every port mapped to the gateway port. Headless services whose endpoints
 * name their pods get one endpoint mirror per pod.
 */
export function buildMirror(
  remote: Service,
  remoteEndpoints: Endpoints | undefined,
  context: MirrorContext,
): DesiredMirror {
  const { config } = context;
  const namespace = remote.metadata.namespace ?? 'default';
  const name = mirrorName(remote.metadata.name, config.targetClusterName);
  const ports = (remote.spec?.ports ?? []).map(copyPort);
  const hosts = headlessHosts(remote, remoteEndpoints);
  const service: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      labels: mirrorLabels(remote.metadata.labels, config),
      annotations: mirrorAnnotations(
        remote,
        remoteFqName(remote.metadata.name, namespace, config.targetClusterDomain),
        config,
      ),
    },
    spec: hosts ? { ports, clusterIP: 'None' } : { ports },
  };
  if (!hosts) {
    const empty = !hasReadyAddresses(remoteEndpoints);
    return { service, endpoints: gatewayEndpoints(service, empty, context), endpointMirrors: [] };
  }
  const endpointMirrors = hosts.map((host) => {
    const podService: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: mirrorName(host, config.targetClusterName),
        namespace,
        labels: { ...mirrorLabels(remote.metadata.labels, config), [Labels.headlessMirrorServiceName]: name },
        annotations: mirrorAnnotations(
          remote,
          `${host}.${remoteFqName(remote.metadata.name, namespace, config.targetClusterDomain)}`,
          config,
          host,
        ),
      },
      spec: { ports },
    };
    return { service: podService, endpoints: gatewayEndpoints(podService, false, context) };
  });
  // `<pod>.<svc>-<cluster>` resolves to the headless mirror's address with that
  // hostname, so each pod's address sits at the gateway (port and readiness as
  // the endpoint mirror's) and points at its endpoint mirror.
  const endpoints = endpointsShell(service);
  if (context.gatewayIps.length > 0) {
    const addresses: EndpointAddress[] = endpointMirrors.flatMap((m, i) =>
      context.gatewayIps.map((ip) => ({
        ip,
        hostname: hosts[i] as string,
        targetRef: { kind: 'Service', name: m.service.metadata.name, namespace },
      })),
    );
    const gatewayPorts = ports.map((p) => endpointPort(p, config.gatewayPort));
    endpoints.subsets = [
      context.gatewayAlive
        ? { addresses, ports: gatewayPorts }
        : { notReadyAddresses: addresses, ports: gatewayPorts },
    ];
  }
  return { service, endpoints, endpointMirrors };
}

/** Endpoints of a mirror at the gateway; not ready while the gateway is down. */
export function gatewayEndpoints(mirror: Service, remoteEmpty: boolean, context: MirrorContext): Endpoints {
  const endpoints = endpointsShell(mirror);
  if (remoteEmpty || context.gatewayIps.length === 0) {
    endpoints.subsets = [];
    return endpoints;
  }
  const addresses = context.gatewayIps.map((ip) => ({ ip }));
  const ports = (mirror.spec?.ports ?? []).map((p) => endpointPort(p, context.config.gatewayPort));
  endpoints.subsets = [context.gatewayAlive ? { addresses, ports } : { notReadyAddresses: addresses, ports }];
  return endpoints;
}

function endpointsShell(service: Service): Endpoints {
  const { name, namespace, labels, annotations } = service.metadata;
  const keep = [Annotations.remoteServiceFqName, Annotations.remoteGatewayIdentity, Annotations.originalName];
  const endpointAnnotations: Record<string, string> = {};
  for (const key of keep) {
    const value = annotations?.[key];
    if (value !== undefined) endpointAnnotations[key] = value;
  }
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace, labels: { ...labels }, annotations: endpointAnnotations },
    subsets: [],
  };
}

function copyPort(port: ServicePort): ServicePort {
  const copy: ServicePort = { port: port.port, protocol: port.protocol ?? 'TCP' };
  if (port.name !== undefined) copy.name = port.name;
  if (port.targetPort !== undefined) copy.targetPort = port.targetPort;
  if (port.appProtocol !== undefined) copy.appProtocol = port.appProtocol;
  return copy;
}

function endpointPort(port: ServicePort, number: number): EndpointPort {
  const result: EndpointPort = { port: number, protocol: port.protocol ?? 'TCP' };
  if (port.name !== undefined) result.name = port.name;
  if (port.appProtocol !== undefined) result.appProtocol = port.appProtocol;
  return result;
}

function mirrorLabels(
  remote: Record<string, string> | undefined,
  config: LinkConfig,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(remote ?? {})) {
    if (key.startsWith('mirror.strait.io/') || key.startsWith('mirror.linkerd.io/')) continue;
    labels[key] = value;
  }
  labels[Labels.mirroredService] = 'true';
  labels[Labels.mirrorClusterName] = config.targetClusterName;
  return labels;
}

function mirrorAnnotations(
  remote: Service,
  fqName: string,
  config: LinkConfig,
  host?: string,
): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(remote.metadata.annotations ?? {})) {
    if (
      DROPPED_ANNOTATIONS.has(key) ||
      key.startsWith('mirror.strait.io/') ||
      key.startsWith('mirror.linkerd.io/')
    ) {
      continue;
    }
    annotations[key] = value;
  }
  annotations[Annotations.remoteServiceFqName] = fqName;
  if (config.gatewayIdentity) annotations[Annotations.remoteGatewayIdentity] = config.gatewayIdentity;
  const original = host ?? remote.metadata.name;
  if (isShortened(original, config.targetClusterName)) annotations[Annotations.originalName] = original;
  return annotations;
}

/** Whether the remote service has at least one ready endpoint. */
function hasReadyAddresses(endpoints: Endpoints | undefined): boolean {
  return (endpoints?.subsets ?? []).some((s) => (s.addresses?.length ?? 0) > 0);
}

/** Pod hostnames of a headless service, or undefined when it is mirrored as one address. */
function headlessHosts(remote: Service, endpoints: Endpoints | undefined): string[] | undefined {
  if (remote.spec?.clusterIP !== 'None') return undefined;
  const hosts = new Set<string>();
  for (const subset of endpoints?.subsets ?? []) {
    for (const address of subset.addresses ?? []) if (address.hostname) hosts.add(address.hostname);
  }
  return hosts.size === 0 ? undefined : [...hosts].sort();
}
