import { isIP } from 'node:net';
import type { ConfigMap } from '../../../core/api/core.ts';
import { MULTICLUSTER_NAMESPACE, Ports } from '../../../core/api/names.ts';
import { StraitError } from '../../../core/errors.ts';
import { Multicluster } from '../../../multicluster/link/manifests.ts';

/** The ConfigMap that says how a local cluster's gateway runs: strait-multicluster/strait-gateway. */
export const GatewayConfigMap = { namespace: MULTICLUSTER_NAMESPACE, name: Multicluster.gateway } as const;

/** Annotations on the gateway's Workload: how often it was restarted after exiting, and its last exit. */
export const GatewayAnnotations = {
  restarts: 'local.strait.io/restarts',
  lastExit: 'local.strait.io/last-exit',
} as const;

/** What a local cluster's gateway should be, as read from its ConfigMap. */
export interface GatewaySpec {
  /** 1 runs the gateway, 0 stops it (the Deployment's field, as on Kubernetes). */
  replicas: 0 | 1;
  /** Where the gateway binds and linked clusters reach it. */
  address: string;
  port: number;
  probePort: number;
  /** Client identities allowed through (exact, `*.suffix` or `*`); empty allows any meshed client. */
  allowedIdentities: string[];
  /** Source networks (CIDRs) allowed through; empty allows any. */
  allowedNetworks: string[];
}

/**
 * The ConfigMap `strait mc install` applies on a local cluster. It leaves out
 * `replicas` (absent means 1), so that the user owns it: applying
 * `replicas: "0"` stops the gateway and installing again does not undo that.
 */
export function gatewayConfigMap(spec: Omit<GatewaySpec, 'replicas'>): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      ...GatewayConfigMap,
      labels: { [Multicluster.partOfLabel]: 'strait-multicluster', app: Multicluster.gateway },
    },
    data: {
      address: spec.address,
      port: String(spec.port),
      probePort: String(spec.probePort),
      allowedIdentities: spec.allowedIdentities.join(','),
      allowedNetworks: spec.allowedNetworks.join(','),
    },
  };
}

/** A gateway ConfigMap that cannot be run as it is. */
export class GatewaySpecError extends StraitError {
  constructor(message: string) {
    super('E_GATEWAY_SPEC', `ConfigMap ${GatewayConfigMap.namespace}/${GatewayConfigMap.name}: ${message}`, {
      hint: 'fix it with strait local apply, or apply it again with strait mc install',
    });
    this.name = 'GatewaySpecError';
  }
}

/** Reads a gateway ConfigMap; absent keys take their defaults, except `address`. */
export function parseGatewaySpec(configMap: ConfigMap): GatewaySpec {
  const data = configMap.data ?? {};
  const replicas = (data.replicas ?? '1').trim();
  if (replicas !== '0' && replicas !== '1') {
    throw new GatewaySpecError(
      `replicas "${replicas}" must be 0 or 1 (a local cluster runs one gateway on its address)`,
    );
  }
  const address = (data.address ?? '').trim();
  if (isIP(address) === 0) throw new GatewaySpecError(`address "${address}" is not an IP address`);
  const port = (key: 'port' | 'probePort', fallback: number) => {
    const text = (data[key] ?? String(fallback)).trim();
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > 65535)
      throw new GatewaySpecError(`${key} "${text}" is not a port`);
    return n;
  };
  const list = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  const spec: GatewaySpec = {
    replicas: replicas === '1' ? 1 : 0,
    address,
    port: port('port', Ports.gateway),
    probePort: port('probePort', Ports.gatewayProbe),
    allowedIdentities: list(data.allowedIdentities),
    allowedNetworks: list(data.allowedNetworks),
  };
  if (spec.port === spec.probePort) throw new GatewaySpecError(`port and probePort are both ${spec.port}`);
  return spec;
}
