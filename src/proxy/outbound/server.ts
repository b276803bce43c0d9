import type http2 from 'node:http2';
import net from 'node:net';
import { describeError } from '../../core/errors.ts';
import { DEFAULT_HEAD_LIMITS } from '../http1/head.ts';
import { Http1Sweeper } from '../http1/timeouts.ts';
import { detectProtocol } from '../transport/detect.ts';
import { lazyHttp2Server } from '../transport/lazy-http2.ts';
import { relay } from '../transport/relay.ts';
import { OutboundAppConnection, type OutboundAppContext, withPort } from './app-connection.ts';
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
  /** Close HTTP/1 connections without a request in flight this long. */
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
  let draining = false;
  const h2Sessions = new Set<http2.ServerHttp2Session>();

  const sweeper = new Http1Sweeper<OutboundAppConnection>(
    options.headersTimeoutMs ?? 10_000,
    options.keepAliveTimeoutMs ?? 60_000,
  );
  const appContext: OutboundAppContext = {
    log,
    limits: DEFAULT_HEAD_LIMITS,
    forward: (exchange, authority) => options.http1.handle(exchange, authority),
    upgrade: (request, socket, head, authority) =>
      void options.http1.upgrade(request, socket, head, authority),
    tunnel(socket, authority, head) {
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
    },
    draining: () => draining,
    released: (connection) => sweeper.delete(connection),
  };

  const h2Server = lazyHttp2Server((h2) => {
    h2.on('stream', (stream, headers) => {
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
    h2.on('session', (session) => {
      h2Sessions.add(session);
      session.once('close', () => h2Sessions.delete(session));
    });
    h2.on('sessionError', (error) =>
      log.info('HTTP/2 session error from application', { error: error.message }),
    );
  });

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
        sweeper.add(new OutboundAppConnection(socket, target, appContext));
      } else if (protocol === 'http2') h2Server().emit('connection', socket);
      else forwardOpaque();
    });
  });
  return {
    server,
    drain() {
      draining = true;
      for (const connection of sweeper.connections) connection.drain();
      for (const session of h2Sessions) session.close();
    },
  };
}
