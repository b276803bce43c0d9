/** One place traffic for a target can go, as discovery describes it. */
export interface Endpoint {
  /** IP literal (or, for a direct unmeshed fallback, a host name). */
  address: string;
  port: number;
  /** Relative share of traffic; 0 receives none unless nothing else is left. */
  weight: number;
  /** Identity to expect on the endpoint's certificate; unset when not meshed. */
  tlsIdentity?: string;
  protocolHint?: 'h2' | 'opaque';
  /** "<name>:<port>" of the real target behind a gateway. */
  authorityOverride?: string;
  /** Port that accepts mTLS plus a transport header; 0 or unset when reached directly. */
  opaqueTransportPort?: number;
  /** Metric labels (dst_namespace, dst_service, target_cluster, ...). */
  labels: Record<string, string>;
}

/** A change to the endpoint set of a target. */
export type EndpointUpdate =
  | { kind: 'add'; endpoints: Endpoint[] }
  | { kind: 'remove'; addresses: Array<{ address: string; port: number }> }
  | { kind: 'none'; exists: boolean };

/**
 * Where endpoint sets come from (the destination service, or static config).
 * `watch` calls `onUpdate` with a snapshot then with changes, until the
 * returned function is called.
 */
export interface Resolver {
  watch(
    target: string,
    onUpdate: (update: EndpointUpdate) => void,
    onError: (error: Error) => void,
  ): () => void;
}

export function endpointKey(endpoint: { address: string; port: number }): string {
  return endpoint.address.includes(':')
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}
