import type { Server as Http1Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { SessionProtocol } from '../transport/header.ts';
import { http } from '../transport/lazy-http.ts';
import { lazyHttp2Server } from '../transport/lazy-http2.ts';

/** What the refusing side is told about each request it answers. */
export interface Refusal {
  /** Why, sent in the l5d-proxy-error header (or grpc-message). */
  reason: string;
  onRequest: (request: { method: string; path: string; authority: string; status: number }) => void;
}

const kRefusal = Symbol('strait.refusal');
type Tagged = { [kRefusal]?: Refusal };

/**
 * Answers every request of HTTP connections that policy refuses: 403 for
 * HTTP, PERMISSION_DENIED (grpc-status 7) for gRPC, so callers get a clear
 * answer instead of a reset connection. One instance serves every refused
 * connection of a listener.
 */
export function createRefuser() {
  let h1Server: Http1Server | undefined;
  const h1 = () =>
    (h1Server ??= http().createServer((req, res) => {
      const refusal = (req.socket as unknown as Tagged)[kRefusal];
      const reason = refusal?.reason ?? 'refused by policy';
      refusal?.onRequest({
        method: req.method ?? '',
        path: req.url ?? '',
        authority: req.headers.host ?? '',
        status: 403,
      });
      req.resume();
      res.writeHead(403, { 'content-type': 'text/plain', 'l5d-proxy-error': reason });
      res.end(`${reason}\n`);
    }));
  const h2 = lazyHttp2Server((server) => {
    server.on('session', (session) => session.on('error', () => {}));
    server.on('stream', (stream, headers) => {
      const refusal = (stream.session as unknown as Tagged)[kRefusal];
      const reason = refusal?.reason ?? 'refused by policy';
      const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
      refusal?.onRequest({
        method: String(headers[':method'] ?? ''),
        path: String(headers[':path'] ?? ''),
        authority: String(headers[':authority'] ?? ''),
        status: grpc ? 200 : 403,
      });
      stream.on('error', () => {});
      stream.resume();
      if (grpc) {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7', 'grpc-message': reason },
          { endStream: true },
        );
      } else {
        stream.respond({ ':status': 403, 'content-type': 'text/plain', 'l5d-proxy-error': reason });
        stream.end(`${reason}\n`);
      }
    });
  });
  return {
    /** Whether requests of `protocol` can be refused one by one. */
    canRefuse(protocol: SessionProtocol | undefined): boolean {
      return protocol === 'http1' || protocol === 'http2' || protocol === 'http1Upgraded';
    },
    /** Serves `connection` (after its transport header) by refusing each request on it. */
    serve(connection: Duplex, protocol: SessionProtocol, refusal: Refusal): void {
      if (protocol === 'http1') {
        (connection as unknown as Tagged)[kRefusal] = refusal;
        // node:http may read from the handle and miss bytes put back after the header.
        const head = connection.read() as Buffer | null;
        h1().emit('connection', connection);
        if (head) connection.emit('data', head);
        connection.resume();
        return;
      }
      const server = h2();
      server.once('session', (session) => {
        (session as unknown as Tagged)[kRefusal] = refusal;
      });
      server.emit('connection', connection);
    },
  };
}
