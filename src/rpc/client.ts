import type { DescService } from '@bufbuild/protobuf';
import { type Client, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';

export interface RpcClientOptions {
  /** host:port of the server. */
  address: string;
  /** PEM trust bundle the server's certificate must chain to. */
  ca: string;
  /** Identity (DNS SAN) the server must present; sent as SNI. */
  serverIdentity: string;
  /** Client certificate chain and key (PEM) for mTLS, when the caller has an identity. */
  cert?: string;
  key?: string;
}

/** A gRPC client over HTTP/2 + TLS that checks the server's identity. */
export function createRpcClient<S extends DescService>(service: S, options: RpcClientOptions): Client<S> {
  const transport = createGrpcTransport({
    baseUrl: `https://${options.address}`,
    pingIntervalMs: 10_000,
    idleConnectionTimeoutMs: 60_000,
    nodeOptions: {
      ca: options.ca,
      servername: options.serverIdentity,
      minVersion: 'TLSv1.3',
      ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
    },
  });
  return createClient(service, transport);
}
