import type { Endpoints, Service } from '../../core/api/core.ts';
import type { Link } from '../../core/api/multicluster.ts';
import { Labels, readWithAlias } from '../../core/api/names.ts';

export interface Readiness {
  ready: boolean;
  /** Why not, when not ready. */
  reason?: string;
  /** The link a mirror came through, if it is one. */
  cluster?: string;
}

/** True for a mirror of a remote service (our label or Linkerd's). */
export function isMirror(object: Service | Endpoints | undefined): boolean {
  return readWithAlias(object?.metadata.labels, Labels.mirroredService) === 'true';
}

/** Whether a Link reports its gateway alive: `status.gatewayAlive`, or a `GatewayAlive` condition. */
export function gatewayAlive(link: Link): boolean {
  if (link.status?.gatewayAlive !== undefined) return link.status.gatewayAlive;
  const condition = link.status?.conditions?.find((c) => c.type === 'GatewayAlive');
  return condition ? condition.status === 'True' : true;
}

/**
 * Readiness of one backend service: it has ready endpoint addresses and, for
 * a mirror, the Link to its cluster reports the gateway alive.
 */
export function backendReadiness(
  service: Service | undefined,
  endpoints: Endpoints | undefined,
  links: Iterable<Link>,
): Readiness {
  const mirror = isMirror(service) || isMirror(endpoints);
  const cluster = mirror
    ? readWithAlias(service?.metadata.labels ?? endpoints?.metadata.labels, Labels.mirrorClusterName)
    : undefined;
  const result = (ready: boolean, reason?: string): Readiness => ({
    ready,
    ...(reason === undefined ? {} : { reason }),
    ...(cluster === undefined ? {} : { cluster }),
  });
  if (!endpoints) return result(false, 'no Endpoints');
  const ready = (endpoints.subsets ?? []).some((subset) => (subset.addresses?.length ?? 0) > 0);
  if (!mirror) return ready ? result(true) : result(false, 'no ready endpoints');
  if (cluster === undefined) return result(false, 'mirror without a cluster-name label');
  const link = [...links].find((l) => l.spec?.targetClusterName === cluster);
  if (!link) return result(false, `no Link to cluster ${cluster}`);
  if (!gatewayAlive(link)) return result(false, `gateway of cluster ${cluster} is not alive`);
  return ready ? result(true) : result(false, `no ready endpoints in cluster ${cluster}`);
}
