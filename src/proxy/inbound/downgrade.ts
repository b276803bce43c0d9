import http from 'node:http';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import { ORIG_PROTO_HEADER } from '../transport/header.ts';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  ORIG_PROTO_HEADER,
]);

/**
 * Serves an HTTP/2 connection from a peer proxy whose streams are HTTP/1.1
 * requests, sending each to the application as HTTP/1.1 over pooled
 * connections (one pool per inbound listener).
 */
export function createDowngrader(options: { appHost: string; log: Logger }) {
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo', timeout: 3000 });
  const server = http2.createServer();
  server.on('sessionError', (error) =>
    options.log.info('HTTP/2 session from peer failed', { error: error.message }),
  );
  server.on('stream', (stream, headers) => {
    const port = (stream.session as http2.ServerHttp2Session & { [kPort]?: number })[kPort];
    const out: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith(':') && !HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
    }
    out.host = String(headers[':authority'] ?? '');
    const request = http.request({
      agent,
      host: options.appHost,
      port,
      method: String(headers[':method']),
      path: String(headers[':path']),
      headers: out,
      setHost: false,
    });
    request.on('response', (response) => {
      const reply: http2.OutgoingHttpHeaders = { ':status': response.statusCode ?? 502 };
      for (const [name, value] of Object.entries(response.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) reply[name] = value;
      }
      if (stream.destroyed) return response.destroy();
      stream.respond(reply);
      response.pipe(stream);
    });
    request.on('error', (error) => {
      options.log.info('request to application failed', { port, error: error.message });
      if (!stream.headersSent && !stream.destroyed) {
        stream.respond({ ':status': 502 });
        stream.end();
      } else stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
    stream.on('close', () => {
      if (!request.writableFinished) request.destroy();
    });
    stream.pipe(request);
  });
  return {
    /** Serves one connection whose transport header named `port`. */
    serve(connection: Duplex, port: number): void {
      server.once('session', (session) => {
        (session as http2.ServerHttp2Session & { [kPort]?: number })[kPort] = port;
      });
      server.emit('connection', connection);
    },
  };
}

const kPort = Symbol('strait.appPort');
