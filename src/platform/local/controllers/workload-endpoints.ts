import type {
  EndpointAddress,
  EndpointPort,
  EndpointSubset,
  Endpoints,
  Service,
} from '../../../core/api/core.ts';
import type { Workload } from '../../../core/api/local.ts';
import { Kinds } from '../../../core/kinds.ts';
import { matchesSelector } from '../../../core/selector.ts';
import { typeMeta } from '../type-meta.ts';

/**
 * The Endpoints a Service with a selector should have, from the Workloads it
 * selects: ready ones as addresses, the others as not-ready addresses; each
 * service port resolved against the workload's ports (by number or by name).
 * Workloads whose ports resolve differently land in separate subsets, as in
 * Kubernetes. Returns undefined for services without a selector (mirrors,
 * manual endpoints), whose Endpoints belong to someone else.
 */
export function desiredEndpoints(service: Service, workloads: Iterable<Workload>): Endpoints | undefined {
  const selector = service.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return undefined;
  const namespace = service.metadata.namespace;
  const subsets = new Map<string, EndpointSubset>();
  const selected = [...workloads]
    .filter(
      (w) =>
        w.metadata.namespace === namespace &&
        !w.metadata.deletionTimestamp &&
        addressOf(w) !== undefined &&
        matchesSelector({ matchLabels: selector }, w.metadata.labels),
    )
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const workload of selected) {
    const ports = resolvePorts(service, workload);
    if (ports.length === 0) continue;
    const key = JSON.stringify(ports);
    let subset = subsets.get(key);
    if (!subset) {
      subset = { ports };
      subsets.set(key, subset);
    }
    const address: EndpointAddress = {
      ip: addressOf(workload) as string,
      hostname: workload.metadata.name,
      targetRef: {
        kind: 'Workload',
        name: workload.metadata.name,
        namespace: workload.metadata.namespace as string,
        ...(workload.metadata.uid ? { uid: workload.metadata.uid } : {}),
      },
    };
    const field = workload.status?.ready ? 'addresses' : 'notReadyAddresses';
    subset[field] = [...(subset[field] ?? []), address];
  }
  const endpoints: Endpoints = {
    ...typeMeta(Kinds.Endpoints),
    metadata: {
      name: service.metadata.name,
      namespace: namespace as string,
      ...(service.metadata.labels ? { labels: { ...service.metadata.labels } } : {}),
      ...(service.metadata.uid
        ? {
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'Service',
                name: service.metadata.name,
                uid: service.metadata.uid,
                controller: true,
              },
            ],
          }
        : {}),
    },
  };
  if (subsets.size > 0) endpoints.subsets = [...subsets.values()];
  return endpoints;
}

function addressOf(workload: Workload): string | undefined {
  return workload.status?.address ?? workload.spec?.address;
}

function resolvePorts(service: Service, workload: Workload): EndpointPort[] {
  const ports: EndpointPort[] = [];
  for (const servicePort of service.spec?.ports ?? []) {
    const target = servicePort.targetPort ?? servicePort.port;
    const port =
      typeof target === 'number' ? target : workload.spec?.ports.find((p) => p.name === target)?.port;
    if (port === undefined) continue;
    ports.push({
      ...(servicePort.name ? { name: servicePort.name } : {}),
      port,
      protocol: servicePort.protocol ?? 'TCP',
      ...(servicePort.appProtocol ? { appProtocol: servicePort.appProtocol } : {}),
    });
  }
  return ports;
}

/** Whether two Endpoints carry the same addresses, ports and labels. */
export function sameEndpoints(a: Endpoints, b: Endpoints): boolean {
  return (
    JSON.stringify(a.subsets ?? []) === JSON.stringify(b.subsets ?? []) &&
    JSON.stringify(a.metadata.labels ?? {}) === JSON.stringify(b.metadata.labels ?? {})
  );
}
