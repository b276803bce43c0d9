import type { WeightedBackend } from '../traffic/backends.ts';
import { type EndpointAddr, type EndpointSet, serviceEndpointSet } from './endpoint-set.ts';
import type { DestinationState } from './state.ts';
import type { ServiceTarget } from './target.ts';

/** Total weight given to the endpoints of a split, shared out by backend weight. */
const SPLIT_SCALE = 1_000_000;

/**
 * The endpoints of a split apex: the union of its backends' endpoints, each
 * weighted so that a backend's endpoints together carry the backend's share
 * (a weight-0 backend's endpoints get weight 0: used only when nothing else
 * is there). Per-endpoint labels name the backend that serves it, and
 * `target_cluster` for mirrors. A backend without ready endpoints adds none,
 * so the others take all the traffic. Also returns the services read, for
 * the watch's dependencies.
 */
export function splitEndpointSet(
  target: ServiceTarget,
  backends: readonly WeightedBackend[],
  state: DestinationState,
): { set: EndpointSet; services: string[] } {
  const total = backends.reduce((sum, b) => sum + Math.max(0, b.weight), 0);
  const addrs = new Map<string, EndpointAddr>();
  const services: string[] = [];
  for (const backend of backends) {
    services.push(`${backend.namespace}/${backend.service}`);
    const backendTarget: ServiceTarget = {
      kind: 'service',
      namespace: backend.namespace,
      name: backend.service,
      port: backend.port ?? target.port,
    };
    const set = serviceEndpointSet(
      backendTarget,
      state.service(backend.namespace, backend.service),
      state.endpoints(backend.namespace, backend.service),
      state,
    );
    if (set.addrs.size === 0) continue;
    const share = total > 0 ? Math.max(0, backend.weight) / total : 0;
    const weight = share === 0 ? 0 : Math.max(1, Math.round((share * SPLIT_SCALE) / set.addrs.size));
    for (const [key, addr] of set.addrs) {
      const existing = addrs.get(key);
      if (existing) {
        // One endpoint behind two backends carries both shares.
        addrs.set(key, { ...existing, weight: existing.weight + weight });
        continue;
      }
      addrs.set(key, { ...addr, weight, labels: { ...set.labels, ...addr.labels } });
    }
  }
  return {
    set: { exists: true, labels: { namespace: target.namespace, service: target.name }, addrs },
    services,
  };
}
