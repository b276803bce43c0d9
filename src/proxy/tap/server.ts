import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { ConnectRouter } from '@connectrpc/connect';
import type { TapHub, TapRecord } from './hub.ts';

type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

/**
 * Serves strait.tap.v1.TapService (gRPC over cleartext HTTP/2) from the hub.
 * Bind it to loopback or a trusted address: it shows request metadata. The
 * gRPC stack is loaded on the first call, so an untapped proxy does not pay
 * for it in memory.
 */
export function createTapServer(hub: TapHub): http2.Http2Server {
  let handler: Promise<Handler> | undefined;
  const server = http2.createServer((req, res) => {
    handler ??= loadHandler(hub);
    handler.then(
      (handle) => handle(req, res),
      () => res.writeHead(500).end(),
    );
  });
  server.on('sessionError', () => {});
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
