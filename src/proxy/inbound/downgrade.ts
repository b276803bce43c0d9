import type { Agent, OutgoingHttpHeaders as Http1Headers } from 'node:http';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import { ORIG_PROTO_HEADER } from '../transport/header.ts';
import { http } from '../transport/lazy-http.ts';
import { http2, lazyHttp2Server } from '../transport/lazy-http2.ts';
import { CLIENT_ID_HEADER, CLIENT_ID_HEADERS, type InboundCaller } from './client-id.ts';
import type { InboundRecorder } from './record.ts';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  ORIG_PROTO_HEADER,
]);

const kCaller = Symbol('strait.inboundSession');
type Tagged = { [kCaller]?: InboundCaller };

/**
 * Serves an HTTP/2 connection from a peer proxy whose streams are HTTP/1.1
 * requests, sending each to the application as HTTP/1.1 over pooled
 * connections (one pool per inbound listener) with the caller's verified
 * identity in `strait-client-id`, and records each request (inbound
 * metrics, tap).
 */
export function createDowngrader(options: { appHost: string; log: Logger; recorder: InboundRecorder }) {
  const { recorder } = options;
  let agent: Agent | undefined;
  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const caller = (stream.session as unknown as Tagged)[kCaller] as InboundCaller;
    const port = caller.port;
    const method = String(headers[':method']);
    const path = String(headers[':path']);
    const request = recorder.start(caller, method, path, String(headers[':authority'] ?? ''));
    let finished = false;
    const done = (status: number, grpc: string | undefined, error: string) => {
      if (finished) return;
      finished = true;
      recorder.done(caller, request, status, grpc, error);
    };
    const out: Http1Headers = {};
    for (const [name, value] of Object.entries(headers)) {
      if (
        !name.startsWith(':') &&
        !HOP_BY_HOP.has(name) &&
        !CLIENT_ID_HEADERS.has(name) &&
        value !== undefined
      )
        out[name] = value;
    }
    out.host = String(headers[':authority'] ?? '');
    if (caller.clientId) out[CLIENT_ID_HEADER] = caller.clientId;
    agent ??= new (http().Agent)({ keepAlive: true, scheduling: 'lifo', timeout: 3000 });
    const upstream = http().request({
      agent,
      host: options.appHost,
      port,
      method,
      path,
      headers: out,
      setHost: false,
    });
    upstream.on('response', (response) => {
      const reply: OutgoingHttpHeaders = { ':status': response.statusCode ?? 502 };
      for (const [name, value] of Object.entries(response.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) reply[name] = value;
      }
      if (stream.destroyed) return response.destroy();
      recorder.responded(request);
      stream.respond(reply);
      response.pipe(stream);
      response.once('end', () =>
        done(response.statusCode ?? 502, response.headers['grpc-status'] as string | undefined, ''),
      );
    });
    upstream.on('error', (error) => {
      options.log.info('request to application failed', { port, error: error.message });
      done(502, undefined, error.message);
      if (!stream.headersSent && !stream.destroyed) {
        stream.respond({ ':status': 502 });
        stream.end();
      } else stream.close(http2().constants.NGHTTP2_INTERNAL_ERROR);
    });
    stream.on('close', () => {
      if (!upstream.writableFinished) upstream.destroy();
    });
    stream.pipe(upstream);
  };
  const h2Server = lazyHttp2Server((server) => {
    server.on('sessionError', (error) =>
      options.log.info('HTTP/2 session from peer failed', { error: error.message }),
    );
    server.on('stream', onStream);
  });
  return {
    /** Serves one connection (after its transport header) from `caller`. */
    serve(connection: Duplex, caller: InboundCaller): void {
      const server = h2Server();
      server.once('session', (session) => {
        (session as unknown as Tagged)[kCaller] = caller;
      });
      server.emit('connection', connection);
    },
  };
}
