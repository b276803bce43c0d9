import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { type TapEvent, TapEventSchema, TapService } from '../../gen/strait/tap/v1/tap_pb.js';
import type { TapHub, TapRecord } from './hub.ts';

/**
 * Serves strait.tap.v1.TapService (gRPC over cleartext HTTP/2) from the hub.
 * Bind it to loopback or a trusted address: it shows request metadata.
 */
export function createTapServer(hub: TapHub): http2.Http2Server {
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
  const server = http2.createServer(
    connectNodeAdapter({ routes, grpc: true, connect: false, grpcWeb: false }),
  );
  server.on('sessionError', () => {});
  return server;
}

function toEvent(record: TapRecord): TapEvent {
  return create(TapEventSchema, record);
}

export function portOf(server: { address(): AddressInfo | string | null }): number {
  return (server.address() as AddressInfo).port;
}
