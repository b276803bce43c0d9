import type { EndpointAddress, EndpointPort, Endpoints, Service, ServicePort } from '../../core/api/core.ts';
import { Annotations, Labels, readWithAlias } from '../../core/api/names.ts';
import { identityName } from '../../core/identity-name.ts';
import { parsePortSet } from './port-set.ts';
import type { IpTarget, ServiceTarget } from './target.ts';
import type { WorkloadInfo } from './workloads.ts';

/** Weight of every endpoint; balancers see equal shares. */
export const ENDPOINT_WEIGHT = 10_000;

export type ProtocolHintName = 'h2' | 'opaque' | 'none';

/** One endpoint as sent to proxies (the plain form of the proto's WeightedAddr). */
export interface EndpointAddr {
  ip: string;
  port: number;
  weight: number;
  labels: Record<string, string>;
  tlsIdentity: string;
  protocolHint: ProtocolHintName;
  authorityOverride: string;
  opaqueTransportPort: number;
}

/** Everything a Get stream for one target shows at one moment. Immutable once built. */
export interface EndpointSet {
  /** Whether the target exists (a known service; IP targets always exist). */
  exists: boolean;
  /** Labels shared by every endpoint of the set. */
  labels: Record<string, string>;
  /** Endpoints by `ip:port`. */
  addrs: ReadonlyMap<string, EndpointAddr>;
}

export interface TranslationContext {
  trustDomain: string;
  controlPlaneNamespace: string;
  /** Looks up the Workload or Pod an endpoint address points at. */
  workload(kind: string, namespace: string, name: string): WorkloadInfo | undefined;
  /** Looks up the workload serving an IP, for IP:port targets. */
  workloadByIp(ip: string): WorkloadInfo | undefined;
}

const EMPTY: ReadonlyMap<string, EndpointAddr> = new Map();

/** Addresses of a service port: ready endpoints only, meshed ones with identity and transport port. */
export function serviceEndpointSet(
  target: ServiceTarget,
  service: Service | undefined,
  endpoints: Endpoints | undefined,
  context: TranslationContext,
): EndpointSet {
  if (!service) return { exists: false, labels: {}, addrs: EMPTY };
  const servicePort = service.spec?.ports?.find((p) => p.port === target.port);
  const opaque = isOpaqueServicePort(service, servicePort, target.port);
  if (isMirror(service, endpoints)) return mirrorEndpointSet(target, service, endpoints, servicePort, opaque);
  const labels = { namespace: target.namespace, service: target.name };
  const addrs = new Map<string, EndpointAddr>();
  for (const subset of endpoints?.subsets ?? []) {
    const port = endpointPortFor(subset.ports, servicePort, target.port);
    if (port === undefined) continue;
    for (const address of subset.addresses ?? []) {
      if (target.hostname !== undefined && address.hostname !== target.hostname) continue;
      const addr = workloadAddr(address, port, opaque, target.namespace, context);
      if (addr) addrs.set(`${addr.ip}:${addr.port}`, addr);
    }
  }
  return { exists: true, labels, addrs };
}

/** The single endpoint behind `ip:port`: meshed when the IP is a known meshed workload. */
export function ipEndpointSet(target: IpTarget, context: TranslationContext): EndpointSet {
  const workload = context.workloadByIp(target.ip);
  const addr = workload
    ? meshedOrPlain(target.ip, target.port, workload, isOpaqueWorkloadPort(workload, target.port), context)
    : plainAddr(target.ip, target.port, {});
  return { exists: true, labels: {}, addrs: new Map([[`${addr.ip}:${addr.port}`, addr]]) };
}

function mirrorEndpointSet(
  target: ServiceTarget,
  service: Service,
  endpoints: Endpoints | undefined,
  servicePort: ServicePort | undefined,
  opaque: boolean,
): EndpointSet {
  const annotations = { ...service.metadata.annotations, ...endpoints?.metadata.annotations };
  const fqName = readWithAlias(annotations, Annotations.remoteServiceFqName);
  const identity = readWithAlias(annotations, Annotations.remoteGatewayIdentity) ?? '';
  const cluster =
    readWithAlias(service.metadata.labels, Labels.mirrorClusterName) ??
    readWithAlias(endpoints?.metadata.labels, Labels.mirrorClusterName);
  const labels: Record<string, string> = { namespace: target.namespace, service: target.name };
  if (cluster) labels.target_cluster = cluster;
  const addrs = new Map<string, EndpointAddr>();
  for (const subset of endpoints?.subsets ?? []) {
    const port = endpointPortFor(subset.ports, servicePort, target.port);
    if (port === undefined) continue;
    for (const address of subset.addresses ?? []) {
      if (target.hostname !== undefined && address.hostname !== target.hostname) continue;
      const addr: EndpointAddr = {
        ip: address.ip,
        port,
        weight: ENDPOINT_WEIGHT,
        labels: {},
        tlsIdentity: identity,
        protocolHint: identity ? (opaque ? 'opaque' : 'h2') : 'none',
        authorityOverride: fqName
          ? `${target.hostname ? `${target.hostname}.` : ''}${fqName}:${target.port}`
          : '',
        opaqueTransportPort: identity ? port : 0,
      };
      addrs.set(`${addr.ip}:${addr.port}`, addr);
    }
  }
  return { exists: true, labels, addrs };
}

/** Kinds of `targetRef` that say whether an address is meshed. */
const WORKLOAD_KINDS = new Set(['Workload', 'Pod']);

/**
 * An Endpoints address as proxies see it. An address whose Workload or Pod is
 * not known (not yet, or no longer: the Endpoints lag behind the workload) is
 * held back (undefined): it may be meshed, and must never go out without its identity.
 */
function workloadAddr(
  address: EndpointAddress,
  port: number,
  opaque: boolean,
  namespace: string,
  context: TranslationContext,
): EndpointAddr | undefined {
  const ref = address.targetRef;
  if (!ref) return plainAddr(address.ip, port, {});
  const workload = context.workload(ref.kind, ref.namespace ?? namespace, ref.name);
  if (!workload) return WORKLOAD_KINDS.has(ref.kind) ? undefined : plainAddr(address.ip, port, {});
  return meshedOrPlain(address.ip, port, workload, opaque || isOpaqueWorkloadPort(workload, port), context);
}

function meshedOrPlain(
  ip: string,
  port: number,
  workload: WorkloadInfo,
  opaque: boolean,
  context: TranslationContext,
): EndpointAddr {
  const labels: Record<string, string> = {
    [workload.kind === 'Pod' ? 'pod' : 'workload']: workload.name,
    serviceaccount: workload.serviceAccount,
  };
  if (!workload.meshed) return plainAddr(ip, port, labels);
  let tlsIdentity = '';
  try {
    tlsIdentity = identityName({
      serviceAccount: workload.serviceAccount,
      namespace: workload.namespace,
      controlPlaneNamespace: context.controlPlaneNamespace,
      trustDomain: context.trustDomain,
    });
  } catch {
    // A service account that is not a DNS label cannot hold a certificate: send the endpoint unmeshed.
    return plainAddr(ip, port, labels);
  }
  return {
    ip,
    port,
    weight: ENDPOINT_WEIGHT,
    labels,
    tlsIdentity,
    protocolHint: opaque ? 'opaque' : 'h2',
    authorityOverride: '',
    opaqueTransportPort: workload.inboundPort,
  };
}

function plainAddr(ip: string, port: number, labels: Record<string, string>): EndpointAddr {
  return {
    ip,
    port,
    weight: ENDPOINT_WEIGHT,
    labels,
    tlsIdentity: '',
    protocolHint: 'none',
    authorityOverride: '',
    opaqueTransportPort: 0,
  };
}

/** The Endpoints port serving a service port: matched by name, as Kubernetes does. */
function endpointPortFor(
  ports: EndpointPort[] | undefined,
  servicePort: ServicePort | undefined,
  requested: number,
): number | undefined {
  if (!ports || ports.length === 0) return undefined;
  if (!servicePort) return ports.find((p) => p.port === requested)?.port;
  const name = servicePort.name ?? '';
  const byName = ports.find((p) => (p.name ?? '') === name);
  if (byName) return byName.port;
  return ports.length === 1 && name === '' ? ports[0]?.port : undefined;
}

/** Whether a target is a mirror of a remote service, reached through the remote gateway. */
export function isMirror(service: Service, endpoints: Endpoints | undefined): boolean {
  return (
    readWithAlias(service.metadata.labels, Labels.mirroredService) === 'true' ||
    readWithAlias(endpoints?.metadata.labels, Labels.mirroredService) === 'true'
  );
}

const OPAQUE_APP_PROTOCOLS = new Set(['strait.io/opaque', 'linkerd.io/opaque']);

/** Opaque by the service's `config.strait.io/opaque-ports` or the port's appProtocol. */
export function isOpaqueServicePort(
  service: Service,
  servicePort: ServicePort | undefined,
  port: number,
): boolean {
  if (servicePort?.appProtocol && OPAQUE_APP_PROTOCOLS.has(servicePort.appProtocol)) return true;
  return parsePortSet(readWithAlias(service.metadata.annotations, Annotations.opaquePorts))(port);
}

function isOpaqueWorkloadPort(workload: WorkloadInfo, port: number): boolean {
  return parsePortSet(readWithAlias(workload.annotations, Annotations.opaquePorts))(port);
}
