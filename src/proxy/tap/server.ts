import type { Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import type { ConnectRouter } from '@connectrpc/connect';
import { type Credentials, peerIdentity } from '../transport/credentials.ts';
import { lazyHttp2Server } from '../transport/lazy-http2.ts';
import type { TapHub, TapRecord } from './hub.ts';

type Handler = (req: Http2ServerRequest, res: Http2ServerResponse) => void;

/** mTLS for a tap port on a non-loopback address, admitting only allowed client identities. */
export interface TapTls {
  credentials: Credentials;
  isAllowed: (identity: string | undefined) => boolean;
}

/**
 * Serves strait.tap.v1.TapService (gRPC over HTTP/2) from the hub: in
 * cleartext (for loopback), or with `tls` over mTLS (ALPN h2), where a client
 * whose certificate does not chain to the trust bundle fails the handshake
 * and one whose identity is not allowed gets PERMISSION_DENIED. The returned
 * server listens for connections and hands them to an HTTP/2 server made on
 * the first one, and the gRPC stack is loaded on the first call, so an
 * untapped proxy pays for neither in memory. Closing it also closes the open
 * HTTP/2 sessions, as closing an HTTP/2 server does.
 */
export function createTapServer(hub: TapHub, tls?: TapTls): net.Server {
  let handler: Promise<Handler> | undefined;
  const serve = (req: Http2ServerRequest, res: Http2ServerResponse) => {
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
  const sessions = new Set<ServerHttp2Session>();
  const h2Server = lazyHttp2Server((server) => {
    server.on('request', serve);
    server.on('sessionError', () => {});
    server.on('session', (session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
  });
  const handOver = (socket: net.Socket) => h2Server().emit('connection', socket);
  const server = tls ? secureListener(tls, handOver) : net.createServer(handOver);
  const close = server.close.bind(server);
  server.close = (callback?: (error?: Error) => void) => {
    for (const session of sessions) session.close();
    return close(callback);
  };
  return server;
}

/** A TLS 1.3 listener that requires a client certificate, follows credential rotation and offers only h2. */
function secureListener(settings: TapTls, handOver: (socket: TLSSocket) => void): TlsServer {
  const { credentials } = settings;
  const material = () => ({
    cert: credentials.material.certChain,
    key: credentials.material.key,
    ca: credentials.material.trustBundle,
  });
  const server = createTlsServer(
    {
      ...material(),
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    handOver,
  );
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  credentials.on('change', () => server.setSecureContext(material()));
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
