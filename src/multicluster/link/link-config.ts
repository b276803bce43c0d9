import type { Link, LinkSpec } from '../../core/api/multicluster.ts';
import { Labels, LinkerdAliases, Ports } from '../../core/api/names.ts';
import { parseDuration } from '../../core/duration.ts';
import { StraitError } from '../../core/errors.ts';
import {
  type Labels as LabelMap,
  type LabelRequirement,
  matchesRequirements,
  requirementsOf,
} from '../../core/selector.ts';

/** A Link's spec with defaults applied and every field checked. */
export interface LinkConfig {
  name: string;
  namespace: string;
  targetClusterName: string;
  targetClusterDomain: string;
  targetClusterStraitNamespace: string;
  clusterCredentialsSecret: string;
  /** Entries of `gatewayAddress`: IPs or DNS names, in the order written. */
  gatewayAddresses: string[];
  gatewayPort: number;
  gatewayIdentity: string;
  probe: ProbeConfig;
  /** Requirements a remote Service's labels must meet to be mirrored. */
  selector: LabelRequirement[];
}

export interface ProbeConfig {
  path: string;
  port: number;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
}

/** A Link whose spec cannot be used. */
export class InvalidLinkError extends StraitError {
  constructor(link: string, reason: string) {
    super('E_LINK_INVALID', `Link ${link}: ${reason}`, {
      hint: 'regenerate the Link with `strait mc link-gen` or fix the field named',
    });
    this.name = 'InvalidLinkError';
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The default export selector: `mirror.strait.io/exported=true`. */
export const DEFAULT_EXPORT_SELECTOR: LabelRequirement[] = [
  { key: Labels.exported, operator: 'In', values: ['true'] },
];

/** Validates a Link and applies the documented defaults. Throws InvalidLinkError. */
export function linkConfig(link: Link): LinkConfig {
  const where = `${link.metadata.namespace ?? 'default'}/${link.metadata.name}`;
  const fail = (reason: string): never => {
    throw new InvalidLinkError(where, reason);
  };
  const spec = (link.spec ?? fail('has no spec')) as Partial<LinkSpec>;
  const cluster = spec.targetClusterName ?? fail('spec.targetClusterName is required');
  if (!DNS_LABEL.test(cluster) || cluster.length > 40) {
    fail(`spec.targetClusterName "${cluster}" must be a DNS label of at most 40 characters`);
  }
  const domain = spec.targetClusterDomain || 'cluster.local';
  if (!DNS_NAME.test(domain)) fail(`spec.targetClusterDomain "${domain}" is not a DNS name`);
  const addresses = (spec.gatewayAddress ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (addresses.length === 0) fail('spec.gatewayAddress names no address');
  const probe = spec.probeSpec ?? ({} as Partial<LinkSpec['probeSpec']>);
  const duration = (text: string | undefined, fallback: string, field: string): number => {
    try {
      const ms = parseDuration(text || fallback, `spec.probeSpec.${field}`);
      return ms > 0 ? ms : fail(`spec.probeSpec.${field} must be positive`);
    } catch (error) {
      if (error instanceof InvalidLinkError) throw error;
      return fail((error as Error).message);
    }
  };
  const config: LinkConfig = {
    name: link.metadata.name,
    namespace: link.metadata.namespace ?? 'default',
    targetClusterName: cluster,
    targetClusterDomain: domain,
    targetClusterStraitNamespace: spec.targetClusterStraitNamespace || 'strait',
    clusterCredentialsSecret:
      spec.clusterCredentialsSecret || fail('spec.clusterCredentialsSecret is required'),
    gatewayAddresses: addresses,
    gatewayPort: port(spec.gatewayPort, Ports.gateway, 'spec.gatewayPort', fail),
    gatewayIdentity: spec.gatewayIdentity ?? '',
    probe: {
      path: probe.path || '/ready',
      port: port(probe.port, Ports.gatewayProbe, 'spec.probeSpec.port', fail),
      periodMs: duration(probe.period, '3s', 'period'),
      timeoutMs: duration(probe.timeout, '2s', 'timeout'),
      failureThreshold: probe.failureThreshold ?? 3,
    },
    selector: spec.selector ? requirementsOf(spec.selector) : DEFAULT_EXPORT_SELECTOR,
  };
  if (!config.probe.path.startsWith('/'))
    fail(`spec.probeSpec.path "${config.probe.path}" must start with /`);
  if (!Number.isInteger(config.probe.failureThreshold) || config.probe.failureThreshold < 1) {
    fail('spec.probeSpec.failureThreshold must be a positive integer');
  }
  return config;
}

function port(value: unknown, fallback: number, field: string, fail: (reason: string) => never): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${field} ${String(value)} is not a port (1-65535)`);
  return n;
}

/**
 * Whether a Service with these labels is exported through this link.
 * Linkerd's label names count as ours (`mirror.linkerd.io/exported=true`).
 */
export function isExported(config: Pick<LinkConfig, 'selector'>, labels: LabelMap): boolean {
  if (config.selector.length === 0) return false; // an empty selector exports nothing
  return matchesRequirements(config.selector, withAliases(labels));
}

function withAliases(labels: LabelMap): LabelMap {
  if (!labels) return labels;
  let result: Record<string, string> | undefined;
  for (const [own, alias] of Object.entries(LinkerdAliases)) {
    const value = labels[alias];
    if (value !== undefined && labels[own] === undefined) {
      result ??= { ...labels };
      result[own] = value;
    }
  }
  return result ?? labels;
}
