import http from 'node:http';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import { classifyResponse, type ProxyMetrics } from '../metrics/proxy-metrics.ts';
import type { TapHub } from '../tap/hub.ts';
import { ORIG_PROTO_HEADER } from '../transport/header.ts';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  ORIG_PROTO_HEADER,
]);

/** Who a connection is from, for per-request metrics and tap. */
export interface InboundConnectionInfo {
  /** Inbound metric labels of the connection (direction, tls, client_id, srv_name, target_port). */
  labels: string;
  clientId: string;
  serverId: string;
  source: string;
}

interface SessionState {
  port: number;
  info: InboundConnectionInfo | undefined;
}

/**
 * Serves an HTTP/2 connection from a peer proxy whose streams are HTTP/1.1
 * requests, sending each to the application as HTTP/1.1 over pooled
 * connections (one pool per inbound listener), and records each request
 * (inbound metrics, tap).
 */
export function createDowngrader(options: {
  appHost: string;
  log: Logger;
  metrics?: ProxyMetrics;
  tap?: TapHub;
}) {
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo', timeout: 3000 });
  const server = http2.createServer();
  server.on('sessionError', (error) =>
    options.log.info('HTTP/2 session from peer failed', { error: error.message }),
  );
  server.on('stream', (stream, headers) => {
    const state = (stream.session as http2.ServerHttp2Session & { [kState]?: SessionState })[kState];
    const port = state?.port;
    const info = state?.info;
    const started = performance.now();
    const startedAtMs = Date.now();
    const method = String(headers[':method']);
    const path = String(headers[':path']);
    const authority = String(headers[':authority'] ?? '');
    if (info) options.metrics?.requestTotal.inc(info.labels);
    const done = (status: number, grpc: string | undefined, error: string) => {
      if (!info) return;
      const latencyMs = performance.now() - started;
      options.metrics?.responseLatencyMs.observe(info.labels, latencyMs);
      options.metrics?.responseTotal.inc(
        `${info.labels},status_code="${status}",classification="${classifyResponse(status, grpc)}"`,
      );
      if (options.tap?.active) {
        options.tap.publish({
          direction: 'inbound',
          method,
          authority,
          path,
          status,
          latencyMs,
          clientId: info.clientId,
          serverId: info.serverId,
          source: info.source,
          destination: `${options.appHost}:${port}`,
          startedAtMs,
          error,
        });
      }
    };
    const out: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith(':') && !HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
    }
    out.host = String(headers[':authority'] ?? '');
    const request = http.request({
      agent,
      host: options.appHost,
      port,
      method,
      path,
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
      response.once('end', () =>
        done(response.statusCode ?? 502, response.headers['grpc-status'] as string | undefined, ''),
      );
    });
    request.on('error', (error) => {
      options.log.info('request to application failed', { port, error: error.message });
      done(502, undefined, error.message);
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
    serve(connection: Duplex, port: number, info?: InboundConnectionInfo): void {
      server.once('session', (session) => {
        (session as http2.ServerHttp2Session & { [kState]?: SessionState })[kState] = { port, info };
      });
      server.emit('connection', connection);
    },
  };
}

const kState = Symbol('strait.inboundSession');
