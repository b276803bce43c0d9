import { connect as tlsConnect } from 'node:tls';
import type { DescService } from '@bufbuild/protobuf';
import { type Client, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';

/** What the client trusts and presents, PEM. */
export interface RpcClientTls {
  /** Trust bundle the server's certificate must chain to. */
  ca: string;
  /** Client certificate chain and key for mTLS, when the caller has an identity. */
  cert?: string;
  key?: string;
}

/**
 * Where the server is, and either fixed TLS material or `tlsSource`, which is
 * read at every new connection so a renewed certificate or a rotated trust
 * bundle is used from the next connection on (established ones keep theirs).
 */
export type RpcClientOptions = {
  /** host:port of the server. */
  address: string;
  /** Identity (DNS SAN) the server must present; sent as SNI. */
  serverIdentity: string;
} & (RpcClientTls | { tlsSource: () => RpcClientTls });

/** A gRPC client over HTTP/2 + TLS that checks the server's identity. */
export function createRpcClient<S extends DescService>(service: S, options: RpcClientOptions): Client<S> {
  const fixed = 'tlsSource' in options ? undefined : { ca: options.ca, cert: options.cert, key: options.key };
  const currentTls = 'tlsSource' in options ? options.tlsSource : () => fixed as RpcClientTls;
  const transport = createGrpcTransport({
    baseUrl: `https://${options.address}`,
    pingIntervalMs: 10_000,
    idleConnectionTimeoutMs: 60_000,
    nodeOptions: {
      createConnection: (authority: URL) => {
        const { ca, cert, key } = currentTls();
        return tlsConnect({
          host: authority.hostname.replace(/^\[|\]$/g, ''),
          port: Number(authority.port || 443),
          servername: options.serverIdentity,
          ALPNProtocols: ['h2'],
          minVersion: 'TLSv1.3',
          ca,
          ...(cert && key ? { cert, key } : {}),
        });
      },
    },
  });
  return createClient(service, transport);
}
