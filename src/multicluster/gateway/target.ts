import { StraitError } from '../../core/errors.ts';

/** Why the gateway refuses to route a connection. */
export class GatewayRefusedError extends StraitError {
  constructor(reason: string, hint?: string) {
    super('E_GATEWAY_REFUSED', reason, hint === undefined ? {} : { hint });
    this.name = 'GatewayRefusedError';
  }
}

/**
 * Checks the target a caller named in its transport header: it must be a
 * service of this cluster, `<svc>.<ns>.svc.<cluster domain>` (or a pod of a
 * headless service, `<pod>.<svc>.<ns>.svc.<cluster domain>`). Returns the
 * authority to resolve, `<name>:<port>`.
 */
export function gatewayTarget(name: string, port: number, clusterDomain: string): string {
  const suffix = `.svc.${clusterDomain}`;
  if (!name) throw new GatewayRefusedError('the transport header names no target');
  if (!name.endsWith(suffix)) {
    throw new GatewayRefusedError(
      `target ${name} is not under svc.${clusterDomain}`,
      'only services of this cluster are reachable through its gateway',
    );
  }
  const labels = name.slice(0, -suffix.length).split('.');
  if (labels.length < 2 || labels.length > 3 || labels.some((l) => l === '')) {
    throw new GatewayRefusedError(`target ${name} is not <svc>.<ns>${suffix}`);
  }
  return `${name}:${port}`;
}
