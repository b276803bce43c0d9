import type {
  ClientHttp2Session,
  ClientHttp2Stream,
  IncomingHttpHeaders,
  OutgoingHttpHeaders,
  ServerHttp2Stream,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import { describeError } from '../../core/errors.ts';
import { ProxyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { connectPlain } from '../transport/connect.ts';
import { http2, lazyHttp2Server } from '../transport/lazy-http2.ts';
import { CLIENT_ID_HEADER, CLIENT_ID_HEADERS, type InboundCaller } from './client-id.ts';
import type { InboundRecorder } from './record.ts';

const END_STREAM = 0x1;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

const kState = Symbol('strait.inboundH2');
interface SessionState {
  caller: InboundCaller;
  /** This connection's own HTTP/2 connection to the application, opened with its first stream. */
  app: Promise<ClientHttp2Session> | undefined;
}
type Tagged = { [kState]?: SessionState };

/**
 * Serves meshed HTTP/2 (and gRPC) connections stream by stream: each stream
 * goes to the application on an HTTP/2 connection of its own for that peer
 * connection, with the caller's verified identity in `strait-client-id`
 * (whatever the caller sent there is dropped), and is counted and tapped.
 * Bodies, trailers and resets pass through both ways.
 */
export function createHttp2Inbound(options: {
  appHost: string;
  log: Logger;
  recorder: InboundRecorder;
  connectTimeoutMs: number;
}) {
  const { appHost, log, recorder } = options;

  const appSession = (state: SessionState): Promise<ClientHttp2Session> => {
    if (state.app) return state.app;
    const port = state.caller.port;
    const forget = () => {
      if (state.app === opened) state.app = undefined;
    };
    const opened = connectPlain(appHost, port, options.connectTimeoutMs).then((socket) => {
      const session = http2().connect(`http://${appHost}:${port}`, { createConnection: () => socket });
      session.on('error', (error) =>
        log.info('HTTP/2 connection to application failed', { port, error: error.message }),
      );
      session.once('close', forget);
      session.once('goaway', forget);
      // The socket allows half-open connections; an application that ends its side is gone.
      socket.once('end', () => session.destroy());
      return session;
    });
    opened.catch(forget);
    state.app = opened;
    return opened;
  };

  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = http2().constants;
    const state = (stream.session as unknown as Tagged)[kState] as SessionState;
    const caller = state.caller;
    const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
    const request = recorder.start(
      caller,
      String(headers[':method'] ?? ''),
      String(headers[':path'] ?? ''),
      String(headers[':authority'] ?? ''),
    );
    let done = false;
    let status = 0;
    let grpcStatus: string | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    let upstream: ClientHttp2Stream | undefined;
    const finish = (status: number, grpcStatus: string | undefined, error: string) => {
      if (done) return;
      done = true;
      recorder.done(caller, request, status, grpcStatus, error);
    };
    const fail = (error: unknown) => {
      const text = describeError(error);
      log.info('request to application failed', { port: caller.port, error: text });
      finish(grpc ? 200 : 502, grpc ? '14' : undefined, text);
      if (stream.destroyed) return;
      if (stream.headersSent) stream.close(NGHTTP2_INTERNAL_ERROR);
      else if (grpc) {
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '14',
            'grpc-message': encodeURIComponent(text),
          },
          { endStream: true },
        );
      } else {
        stream.respond({ ':status': 502, 'content-type': 'text/plain', 'l5d-proxy-error': text });
        stream.end(`${text}\n`);
      }
    };
    stream.on('error', () => {});
    stream.once('close', () => {
      if (upstream && !upstream.closed) upstream.close(stream.rstCode || NGHTTP2_CANCEL);
      finish(status || 499, grpcStatus, `stream reset by the caller (code ${stream.rstCode})`);
    });
    const send = (app: ClientHttp2Session) => {
      if (stream.destroyed) return;
      const out: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(headers)) {
        if (!HOP_BY_HOP.has(name) && !CLIENT_ID_HEADERS.has(name)) out[name] = value;
      }
      if (caller.clientId) out[CLIENT_ID_HEADER] = caller.clientId;
      const up = app.request(out, { endStream: stream.endAfterHeaders });
      upstream = up;
      up.on('error', () => {});
      up.once('response', (responseHeaders, flags) => {
        status = Number(responseHeaders[':status']);
        grpcStatus = responseHeaders['grpc-status'] as string | undefined;
        recorder.responded(request);
        if (stream.destroyed) return;
        const reply: OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(responseHeaders)) {
          if (!HOP_BY_HOP.has(name)) reply[name] = value;
        }
        const endStream = (flags & END_STREAM) !== 0;
        if (!endStream) {
          stream.once('wantTrailers', () => {
            const send: OutgoingHttpHeaders = {};
            for (const [name, value] of Object.entries(trailers ?? {}))
              if (!name.startsWith(':')) send[name] = value;
            stream.sendTrailers(send);
            finish(status, grpcStatus, '');
          });
        }
        stream.respond(reply, { endStream, waitForTrailers: !endStream });
        if (endStream) finish(status, grpcStatus, '');
        else up.pipe(stream);
      });
      up.on('trailers', (t) => {
        trailers = t;
        grpcStatus = (t['grpc-status'] as string | undefined) ?? grpcStatus;
      });
      up.once('close', () => {
        if (done) return;
        const code = up.rstCode ?? 0;
        if (status === 0) {
          fail(
            new ProxyError(
              'E_APP_STREAM',
              `the application closed the stream before answering (code ${code})`,
            ),
          );
          return;
        }
        if (code !== NGHTTP2_NO_ERROR) {
          finish(status, grpcStatus, `stream reset by the application (code ${code})`);
          if (!stream.destroyed) stream.close(code);
        }
      });
      if (stream.endAfterHeaders) stream.resume();
      else stream.pipe(up);
    };
    appSession(state)
      .then((app) => {
        // A connection the application is closing takes no new streams: open another.
        if (!app.closed && !app.destroyed) return app;
        if (state.app) state.app = undefined;
        return appSession(state);
      })
      .then(send)
      .catch(fail);
  };

  const h2Server = lazyHttp2Server((server) => {
    server.on('sessionError', (error) =>
      log.info('HTTP/2 session from peer failed', { error: error.message }),
    );
    server.on('stream', onStream);
  });

  return {
    /** Serves one connection (after its transport header) from `caller`. */
    serve(connection: Duplex, caller: InboundCaller): void {
      const state: SessionState = { caller, app: undefined };
      const server = h2Server();
      server.once('session', (session) => {
        (session as unknown as Tagged)[kState] = state;
        session.once('close', () => {
          state.app?.then(
            (app) => app.close(),
            () => {},
          );
        });
      });
      server.emit('connection', connection);
    },
  };
}
