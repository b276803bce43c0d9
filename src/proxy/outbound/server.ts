import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { describeError } from '../../core/errors.ts';
import { detectProtocol } from '../transport/detect.ts';
import { relay } from '../transport/relay.ts';
import type { OutboundClient } from './client.ts';
import type { Http1Forwarder } from './http1.ts';
import type { Http2Forwarder } from './http2.ts';

export interface OutboundServerOptions {
  client: OutboundClient;
  http1: Http1Forwarder;
  http2: Http2Forwarder;
  /**
   * The connection's target authority: a fixed service for an explicit
   * listener, or the original destination. Undefined: HTTP proxy mode, where
   * each request names its target (absolute-form, CONNECT, Host).
   */
  target?: (socket: net.Socket) => string | undefined;
  /** Target ports forwarded as opaque TCP without detection (server-speaks-first). */
  opaquePorts?: ReadonlySet<number>;
  detectTimeoutMs?: number;
  /** Slowloris guard: time allowed for a request's headers. */
  headersTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** Close opaque connections idle (no bytes either way) this long; 0: never. */
  idleTimeoutMs?: number;
}

// Set on accepted sockets; read back through http2's socket proxy, which passes property reads on.
const kTarget = Symbol('strait.target');
type Tagged = net.Socket & { [kTarget]?: string };
const targetOf = (socket: net.Socket | undefined): string | undefined =>
  (socket as Tagged | undefined)?.[kTarget];

/** An outbound listener and its drain switch. */
export interface OutboundServer {
  server: net.Server;
  /**
   * Starts a graceful drain: idle HTTP/1 connections close now, busy ones after
   * their current response (sent with `connection: close`), HTTP/2 sessions
   * get GOAWAY. Opaque connections are left to finish.
   */
  drain(): void;
}

/**
 * The outbound side: detects the application's protocol and forwards HTTP/1
 * per request, HTTP/2 per stream, and anything else per connection.
 */
export function createOutboundServer(options: OutboundServerOptions): OutboundServer {
  const { client } = options;
  const log = client.log;
  const httpServer = http.createServer({
    headersTimeout: options.headersTimeoutMs ?? 10_000,
    requestTimeout: 0,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 60_000,
  });
  let draining = false;
  const busy = new Map<net.Socket, number>();
  const h1Sockets = new Set<net.Socket>();
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  httpServer.on('request', (req, res) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    if (draining) res.shouldKeepAlive = false;
    res.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      busy.set(socket, left);
      if (draining && left === 0) socket.end();
    });
    const authority = requestTarget(req, targetOf(req.socket));
    if (!authority) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('request names no target host\n');
      return;
    }
    options.http1.handle(req, res, authority);
  });
  httpServer.on('upgrade', (req, socket: net.Socket, head) => {
    const authority = requestTarget(req, targetOf(socket));
    if (!authority) {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    void options.http1.upgrade(req, socket, head, authority);
  });
  httpServer.on('connect', (req, socket: net.Socket, head) => {
    const authority = req.url ?? '';
    socket.on('error', () => {});
    client.connect(authority, 'opaque').then(
      ({ socket: upstream }) => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        relay(socket, upstream, undefined, options.idleTimeoutMs);
      },
      (error) => {
        log.info('CONNECT failed', { authority, error: describeError(error) });
        socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
      },
    );
  });
  httpServer.on('clientError', (error, socket) => {
    log.info('malformed HTTP/1 request', {
      client: (socket as net.Socket).remoteAddress,
      error: error.message,
    });
    if (socket.writable && !(error as NodeJS.ErrnoException).code?.startsWith('ECONN')) {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    } else socket.destroy();
  });

  const h2Server = http2.createServer();
  h2Server.on('stream', (stream, headers) => {
    const authority =
      targetOf(stream.session?.socket as net.Socket | undefined) ??
      withPort(String(headers[':authority'] ?? headers.host ?? ''), 80);
    if (!authority) {
      stream.respond({ ':status': 400 });
      stream.end();
      return;
    }
    options.http2.handle(stream, headers, authority);
  });
  h2Server.on('session', (session) => {
    h2Sessions.add(session);
    session.once('close', () => h2Sessions.delete(session));
  });
  h2Server.on('sessionError', (error) =>
    log.info('HTTP/2 session error from application', { error: error.message }),
  );

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on('error', () => {});
    const target = options.target?.(socket);
    if (target) (socket as Tagged)[kTarget] = target;
    const port = target ? Number(target.slice(target.lastIndexOf(':') + 1)) : undefined;
    const forwardOpaque = () => {
      if (!target) {
        log.info('opaque connection with no known target closed', { client: socket.remoteAddress });
        socket.destroy();
        return;
      }
      socket.pause();
      client.connect(target, 'opaque').then(
        ({ socket: upstream }) => relay(socket, upstream, undefined, options.idleTimeoutMs),
        (error) => {
          log.info('outbound connection failed', { target, error: describeError(error) });
          socket.destroy();
        },
      );
    };
    if (port !== undefined && options.opaquePorts?.has(port)) {
      forwardOpaque();
      return;
    }
    void detectProtocol(socket, options.detectTimeoutMs ?? 10_000).then((protocol) => {
      if (protocol === 'http1') {
        // node:http reads from the socket's handle, so it would never see bytes put
        // back with unshift(): take them out again and hand them over as data.
        const head = socket.read() as Buffer | null;
        h1Sockets.add(socket);
        socket.once('close', () => {
          h1Sockets.delete(socket);
          busy.delete(socket);
        });
        httpServer.emit('connection', socket);
        if (head) socket.emit('data', head);
        socket.resume();
      } else if (protocol === 'http2') h2Server.emit('connection', socket);
      else forwardOpaque();
    });
  });
  return {
    server,
    drain() {
      draining = true;
      for (const socket of h1Sockets) if (!busy.get(socket)) socket.end();
      for (const session of h2Sessions) session.close();
    },
  };
}

/** The target of an HTTP/1 request: the listener's, an absolute-form URL's, or the Host header's. */
function requestTarget(req: http.IncomingMessage, fixed: string | undefined): string | undefined {
  if (fixed) return fixed;
  const url = req.url ?? '';
  if (!url.startsWith('/')) {
    try {
      const parsed = new URL(url);
      return withPort(parsed.host, parsed.protocol === 'https:' ? 443 : 80);
    } catch {
      return undefined;
    }
  }
  return withPort(req.headers.host ?? '', 80);
}

function withPort(host: string, port: number): string {
  if (!host) return '';
  return /:\d+$/.test(host) && !host.endsWith(']') ? host : `${host}:${port}`;
}
