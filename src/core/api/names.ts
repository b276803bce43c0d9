/** Names, labels, annotations and ports shared by every part (see docs/design.md). */

export const CONTROL_PLANE_NAMESPACE = 'strait';
export const MULTICLUSTER_NAMESPACE = 'strait-multicluster';

export const Ports = {
  proxyOutbound: 4140,
  proxyInbound: 4143,
  proxyAdmin: 4191,
  proxyTap: 4190,
  gateway: 4143,
  gatewayProbe: 4191,
  identity: 8080,
  destination: 8086,
  policy: 8090,
  mirrorAdmin: 9999,
} as const;

export const Labels = {
  exported: 'mirror.strait.io/exported',
  mirroredService: 'mirror.strait.io/mirrored-service',
  mirrorClusterName: 'mirror.strait.io/cluster-name',
  /** On a per-pod endpoint mirror: the headless mirror it belongs to. */
  headlessMirrorServiceName: 'mirror.strait.io/headless-mirror-svc-name',
  failoverControlledBy: 'failover.strait.io/controlled-by',
} as const;

export const Annotations = {
  remoteServiceFqName: 'mirror.strait.io/remote-svc-fq-name',
  remoteGatewayIdentity: 'mirror.strait.io/remote-gateway-identity',
  originalName: 'mirror.strait.io/original-name',
  failoverPrimaryService: 'failover.strait.io/primary-service',
  inject: 'strait.io/inject',
  opaquePorts: 'config.strait.io/opaque-ports',
  skipOutboundPorts: 'config.strait.io/skip-outbound-ports',
  skipInboundPorts: 'config.strait.io/skip-inbound-ports',
} as const;

/** Linkerd's names, accepted where ours are expected. */
export const LinkerdAliases: Record<string, string> = {
  'mirror.strait.io/exported': 'mirror.linkerd.io/exported',
  'mirror.strait.io/mirrored-service': 'mirror.linkerd.io/mirrored-service',
  'mirror.strait.io/cluster-name': 'mirror.linkerd.io/cluster-name',
  'mirror.strait.io/headless-mirror-svc-name': 'mirror.linkerd.io/headless-mirror-svc-name',
  'mirror.strait.io/remote-svc-fq-name': 'mirror.linkerd.io/remote-svc-fq-name',
  'mirror.strait.io/remote-gateway-identity': 'mirror.linkerd.io/remote-gateway-identity',
  'failover.strait.io/controlled-by': 'failover.linkerd.io/controlled-by',
  'failover.strait.io/primary-service': 'failover.linkerd.io/primary-service',
  'strait.io/inject': 'linkerd.io/inject',
  'config.strait.io/opaque-ports': 'config.linkerd.io/opaque-ports',
  'config.strait.io/skip-outbound-ports': 'config.linkerd.io/skip-outbound-ports',
  'config.strait.io/skip-inbound-ports': 'config.linkerd.io/skip-inbound-ports',
};

/** Reads a label or annotation by our name, falling back to Linkerd's alias. */
export function readWithAlias(values: Record<string, string> | undefined, name: string): string | undefined {
  if (!values) return undefined;
  const own = values[name];
  if (own !== undefined) return own;
  const alias = LinkerdAliases[name];
  return alias === undefined ? undefined : values[alias];
}
