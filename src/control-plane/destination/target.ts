import { isIP } from 'node:net';
import { StraitError } from '../../core/errors.ts';

/**
 * A service authority: `<svc>.<ns>.svc.<cluster-domain>:<port>` or `<svc>.<ns>:<port>`;
 * with `hostname`, one endpoint of it: `<hostname>.<svc>.<ns>.svc.<cluster-domain>:<port>`.
 */
export interface ServiceTarget {
  kind: 'service';
  namespace: string;
  name: string;
  port: number;
  hostname?: string;
}

/** A single workload endpoint: `<ip>:<port>`. */
export interface IpTarget {
  kind: 'ip';
  ip: string;
  port: number;
}

export type Target = ServiceTarget | IpTarget;

/** A destination path that names nothing this cluster serves. */
export class InvalidTargetError extends StraitError {
  constructor(path: string, reason: string) {
    super('E_DESTINATION_TARGET', `destination "${path}": ${reason}`, {
      hint: 'ask for <service>.<namespace>.svc.<cluster-domain>:<port>, <service>.<namespace>:<port> or <ip>:<port>',
    });
    this.name = 'InvalidTargetError';
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Parses a destination path against this cluster's domain. */
export function parseTarget(path: string, clusterDomain: string): Target {
  const { host, port } = splitHostPort(path);
  if (isIP(host)) return { kind: 'ip', ip: host, port };
  const labels = host.replace(/\.$/, '').toLowerCase().split('.');
  const domain = clusterDomain.toLowerCase().split('.').join('.');
  const svcAt = [2, 3].find((at) => {
    const rest = labels.slice(at + 1).join('.');
    return labels[at] === 'svc' && (rest === '' || rest === domain);
  });
  if (labels.length !== 2 && svcAt === undefined) {
    throw new InvalidTargetError(path, `"${host}" is not a service of cluster domain ${clusterDomain}`);
  }
  const parts = svcAt === 3 ? labels.slice(0, 3) : [undefined, ...labels.slice(0, 2)];
  const [hostname, name, namespace] = parts as [string | undefined, string, string];
  if (![name, namespace, ...(hostname === undefined ? [] : [hostname])].every((l) => DNS_LABEL.test(l))) {
    throw new InvalidTargetError(path, 'hostname, service and namespace must be DNS labels');
  }
  return hostname === undefined
    ? { kind: 'service', namespace, name, port }
    : { kind: 'service', namespace, name, port, hostname };
}

function splitHostPort(path: string): { host: string; port: number } {
  const bracketed = path.match(/^\[([^\]]+)\]:(\d+)$/);
  const plain = path.match(/^([^:]+):(\d+)$/);
  const match = bracketed ?? plain;
  if (!match) throw new InvalidTargetError(path, 'expected <host>:<port>');
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidTargetError(path, `port ${match[2]} is not between 1 and 65535`);
  }
  return { host: match[1] as string, port };
}

/** The fully qualified name of a service: `<svc>.<ns>.svc.<cluster-domain>`. */
export function serviceFqdn(namespace: string, name: string, clusterDomain: string): string {
  return `${name}.${namespace}.svc.${clusterDomain}`;
}

/** A stable key for a target, shared by every stream that asks for it. */
export function targetKey(target: Target): string {
  return target.kind === 'ip'
    ? `ip:${target.ip}:${target.port}`
    : `svc:${target.hostname ? `${target.hostname}.` : ''}${target.namespace}/${target.name}:${target.port}`;
}
