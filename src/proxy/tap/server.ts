import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ConnectRouter } from '@connectrpc/connect';
import { type Credentials, peerIdentity } from '../transport/credentials.ts';
import type { TapHub, TapRecord } from './hub.ts';

type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

/** mTLS for a tap port on a non-loopback address, admitting only allowed client identities. */
export interface TapTls {
  credentials: Credentials;
  isAllowed: (identity: string | undefined) => boolean;
}

/**
 * Serves strait.tap.v1.TapService (gRPC over HTTP/2) from the hub: in
 * cleartext (for loopback), or with `tls` over mTLS, where a client whose
 * certificate does not chain to the trust bundle fails the handshake and one
 * whose identity is not allowed gets PERMISSION_DENIED. The gRPC stack is
 * loaded on the first call, so an untapped proxy does not pay for it in
 * memory.
 */
export function createTapServer(hub: TapHub, tls?: TapTls): http2.Http2Server | http2.Http2SecureServer {
  let handler: Promise<Handler> | undefined;
  const serve = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    if (tls) {
      const identity = peerIdentity(req.stream.session?.socket as TLSSocket);
      if (!tls.isAllowed(identity)) {
        const message = `tap is not authorized for ${identity ?? 'a client without identity'}`;
        res.stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7', 'grpc-message': message },
          { endStream: true },
        );
        return;
      }
    }
    handler ??= loadHandler(hub);
    handler.then(
      (handle) => handle(req, res),
      () => res.writeHead(500).end(),
    );
  };
  if (!tls) {
    const server = http2.createServer(serve);
    server.on('sessionError', () => {});
    return server;
  }
  const material = () => ({
    cert: tls.credentials.material.certChain,
    key: tls.credentials.material.key,
    ca: tls.credentials.material.trustBundle,
  });
  const server = http2.createSecureServer({
    ...material(),
    minVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ['h2'],
  });
  server.on('request', serve);
  server.on('sessionError', () => {});
  server.on('tlsClientError', () => {});
  tls.credentials.on('change', () => server.setSecureContext(material()));
  return server;
}

async function loadHandler(hub: TapHub): Promise<Handler> {
  const [{ create }, { connectNodeAdapter }, { TapEventSchema, TapService }] = await Promise.all([
    import('@bufbuild/protobuf'),
    import('@connectrpc/connect-node'),
    import('../../gen/strait/tap/v1/tap_pb.js'),
  ]);
  const toEvent = (record: TapRecord) => create(TapEventSchema, record);
  const routes = (router: ConnectRouter) =>
    router.service(TapService, {
      async *observe(request, context) {
        const queue: TapRecord[] = [];
        let wake: (() => void) | undefined;
        const stop = hub.observe(
          {
            ...(request.authority ? { authority: request.authority } : {}),
            ...(request.pathPrefix ? { pathPrefix: request.pathPrefix } : {}),
            ...(request.method ? { method: request.method } : {}),
          },
          (record) => {
            if (queue.length < 10_000) queue.push(record);
            wake?.();
          },
        );
        const aborted = new Promise<void>((resolve) =>
          context.signal.addEventListener('abort', () => resolve()),
        );
        let sent = 0;
        try {
          while (!context.signal.aborted && (request.limit === 0 || sent < request.limit)) {
            const record = queue.shift();
            if (!record) {
              await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
              continue;
            }
            sent++;
            yield toEvent(record);
          }
        } finally {
          stop();
        }
      },
    });
  return connectNodeAdapter({ routes, grpc: true, connect: false, grpcWeb: false }) as Handler;
}

export function portOf(server: { address(): AddressInfo | string | null }): number {
  return (server.address() as AddressInfo).port;
}
