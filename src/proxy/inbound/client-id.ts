/**
 * The request header that tells the application who called it: the verified
 * identity of the mTLS client (or, through a trusted gateway, of the original
 * caller). Linkerd's `l5d-client-id`.
 */
export const CLIENT_ID_HEADER = 'strait-client-id';

/**
 * Headers that claim a caller identity. Whatever a caller sends in them is
 * dropped on the inbound side, so no workload can forge one.
 */
export const CLIENT_ID_HEADERS: ReadonlySet<string> = new Set([CLIENT_ID_HEADER, 'l5d-client-id']);

/** Who a meshed connection is from, for each request on it. */
export interface InboundCaller {
  /** Application port the transport header named. */
  port: number;
  /** Inbound metric labels of the connection (direction, tls, client_id, srv_name, target_port). */
  labels: string;
  /** Verified caller identity; empty when there is none. */
  clientId: string;
  /** Our own identity. */
  serverId: string;
  /** Address of the connecting peer. */
  source: string;
  /** Metric labels of the last authority requested on this connection. */
  requestLabels?: { authority: string; labels: string };
  /** `response_total` labels of the last response on this connection, and what they were made from. */
  responseLabels?: { labels: string; status: number; classification: string; text: string };
}
