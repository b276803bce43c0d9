import type { Endpoint } from '../discovery/types.ts';
import { type Family, formatLabels, LATENCY_BUCKETS_MS, Registry } from './registry.ts';

export type Direction = 'inbound' | 'outbound';

/** The proxy's metric families, named as in docs/design.md (Linkerd's vocabulary). */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly requestTotal: Family;
  readonly responseTotal: Family;
  readonly responseLatencyMs: Family;
  readonly tcpOpenTotal: Family;
  readonly tcpCloseTotal: Family;
  readonly tcpOpenConnections: Family;
  readonly tcpReadBytesTotal: Family;
  readonly tcpWriteBytesTotal: Family;
  readonly identityExpiry: Family;

  constructor() {
    const r = this.registry;
    this.requestTotal = r.counter('request_total', 'HTTP requests started.');
    this.responseTotal = r.counter('response_total', 'HTTP responses completed.');
    this.responseLatencyMs = r.histogram(
      'response_latency_ms',
      'Time from request start to response headers, in milliseconds.',
      LATENCY_BUCKETS_MS,
    );
    this.tcpOpenTotal = r.counter('tcp_open_total', 'TCP connections opened.');
    this.tcpCloseTotal = r.counter('tcp_close_total', 'TCP connections closed.');
    this.tcpOpenConnections = r.gauge('tcp_open_connections', 'TCP connections currently open.');
    this.tcpReadBytesTotal = r.counter('tcp_read_bytes_total', 'Bytes read from peers, counted at close.');
    this.tcpWriteBytesTotal = r.counter('tcp_write_bytes_total', 'Bytes written to peers, counted at close.');
    this.identityExpiry = r.gauge(
      'identity_cert_expiration_timestamp_seconds',
      'Expiry of the proxy workload certificate, seconds since the epoch.',
    );
  }

  /**
   * Tracks one connection: counts the open now, and at close the bytes and the
   * close with its classification.
   */
  trackConnection(
    labels: string,
    socket: { bytesRead: number; bytesWritten: number; once(event: 'close', fn: () => void): unknown },
    classify: () => 'success' | 'failure' = () => 'success',
  ): void {
    this.tcpOpenTotal.inc(labels);
    this.tcpOpenConnections.inc(labels, 1);
    socket.once('close', () => {
      this.tcpOpenConnections.inc(labels, -1);
      this.tcpReadBytesTotal.inc(labels, socket.bytesRead);
      this.tcpWriteBytesTotal.inc(labels, socket.bytesWritten);
      this.tcpCloseTotal.inc(`${labels},classification="${classify()}"`);
    });
  }
}

/** Label text for traffic to an endpoint: tls, server_id and the dst_* labels from discovery. */
export function endpointLabels(
  direction: Direction,
  authority: string,
  endpoint: Endpoint | undefined,
): string {
  const labels: Record<string, string | undefined> = { direction, authority };
  labels.tls = endpoint?.tlsIdentity ? 'true' : 'no_identity';
  labels.server_id = endpoint?.tlsIdentity;
  for (const [name, value] of Object.entries(endpoint?.labels ?? {})) {
    const key = name === 'target_cluster' || name.startsWith('dst_') ? name : `dst_${name}`;
    labels[key.replace(/[^a-zA-Z0-9_]/g, '_')] = value;
  }
  return formatLabels(labels);
}

/** Label text for an accepted inbound connection or request. */
export function inboundLabels(
  clientId: string | undefined,
  tls: boolean,
  extra: Record<string, string> = {},
): string {
  return formatLabels({
    direction: 'inbound',
    tls: tls ? 'true' : 'no_identity',
    client_id: clientId,
    ...extra,
  });
}

/** Classifies an HTTP response as Linkerd does: 5xx and non-OK gRPC status are failures. */
export function classifyResponse(status: number, grpcStatus: string | undefined): 'success' | 'failure' {
  if (status >= 500) return 'failure';
  if (grpcStatus !== undefined && grpcStatus !== '0') return 'failure';
  return 'success';
}
