import http2 from 'node:http2';
import { describeError } from '../../core/errors.ts';
import { ProxyError } from '../errors.ts';
import { classifyResponse } from '../metrics/proxy-metrics.ts';
import type { TapHub } from '../tap/hub.ts';
import type { OutboundClient } from './client.ts';
import type { EndpointHandle } from './targets.ts';

const { NGHTTP2_CANCEL } = http2.constants;
const END_STREAM = 0x1;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);

interface SessionEntry {
  /** Settles within the connect timeout: a session that has the peer's settings, or the reason there is none. */
  session: Promise<http2.ClientHttp2Session>;
}

/**
 * Forwards HTTP/2 (and so gRPC) streams to a target, choosing an endpoint per
 * stream and multiplexing streams over one connection per endpoint. Streaming
 * bodies, trailers and resets pass through in both directions.
 */
export class Http2Forwarder {
  readonly #client: OutboundClient;
  readonly #tap: TapHub | undefined;
  readonly #sessions = new Map<string, SessionEntry>();

  constructor(options: { client: OutboundClient; tap?: TapHub }) {
    this.#client = options.client;
    this.#tap = options.tap;
  }

  /** Forwards one server stream to `authority`. */
  handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, authority: string): void {
    const started = performance.now();
    const startedAtMs = Date.now();
    const method = String(headers[':method'] ?? 'GET');
    const path = String(headers[':path'] ?? '/');
    const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
    const metrics = this.#client.metrics;
    let handle: EndpointHandle | undefined;
    let labels = '';
    let done = false;

    const record = (status: number, error: string) => {
      if (!this.#tap?.active) return;
      this.#tap.publish({
        direction: 'outbound',
        method,
        authority,
        path,
        status,
        latencyMs: performance.now() - started,
        clientId: this.#client.credentials?.identity ?? '',
        serverId: handle?.endpoint.tlsIdentity ?? '',
        source: stream.session?.socket?.remoteAddress ?? '',
        destination: handle?.key ?? '',
        startedAtMs,
        error,
      });
    };
    const finish = (status: number, grpcStatus: string | undefined, error: string) => {
      if (done) return;
      done = true;
      if (labels) {
        metrics?.responseTotal.inc(
          `${labels},status_code="${status}",classification="${error ? 'failure' : classifyResponse(status, grpcStatus)}"`,
        );
      }
      record(status, error);
    };
    const unavailable = (error: unknown) => {
      this.#client.log.info('outbound stream failed', { authority, path, error: describeError(error) });
      const httpStatus = error instanceof ProxyError && error.code === 'E_CONNECT_TIMEOUT' ? 504 : 503;
      finish(grpc ? 200 : httpStatus, grpc ? '14' : undefined, describeError(error));
      if (stream.destroyed || stream.headersSent) {
        stream.close(NGHTTP2_CANCEL);
        return;
      }
      const message = encodeURIComponent(describeError(error));
      if (grpc) {
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '14',
            'grpc-message': message,
          },
          { endStream: true },
        );
      } else {
        stream.respond({ ':status': httpStatus, 'content-type': 'text/plain' });
        stream.end(`${describeError(error)}\n`);
      }
    };

    const run = async () => {
      handle = await this.#client.pick(authority);
      const h = handle;
      labels = h.labels(authority);
      metrics?.requestTotal.inc(labels);
      const session = await this.#sessionFor(h, authority);
      if (stream.destroyed) return;
      const out: http2.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(headers)) {
        if (
          HOP_BY_HOP.has(name) ||
          (name.startsWith(':') && name !== ':method' && name !== ':path' && name !== ':scheme')
        ) {
          continue;
        }
        out[name] = value;
      }
      out[':authority'] = h.endpoint.authorityOverride ?? headers[':authority'] ?? authority;
      const request = session.request(out, {
        endStream: stream.readableEnded && stream.readableLength === 0,
      });
      h.ewma.start();
      let trailers: http2.IncomingHttpHeaders | undefined;
      let status = 0;
      let grpcStatus: string | undefined;
      request.once('response', (responseHeaders, flags) => {
        status = Number(responseHeaders[':status']);
        grpcStatus = responseHeaders['grpc-status'] as string | undefined;
        h.ewma.finish(performance.now() - started);
        metrics?.responseLatencyMs.observe(labels, performance.now() - started);
        if (status >= 500) h.breaker.failure();
        else h.breaker.success();
        if (stream.destroyed) return;
        const reply: http2.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(responseHeaders)) {
          if (!HOP_BY_HOP.has(name)) reply[name] = value;
        }
        const endStream = (flags & END_STREAM) !== 0;
        stream.respond(reply, { endStream, waitForTrailers: !endStream });
        if (endStream) finish(status, grpcStatus, '');
      });
      request.on('trailers', (t) => {
        trailers = t;
        grpcStatus = (t['grpc-status'] as string | undefined) ?? grpcStatus;
      });
      stream.on('wantTrailers', () => {
        const send: http2.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(trailers ?? {}))
          if (!name.startsWith(':')) send[name] = value;
        stream.sendTrailers(send);
        finish(status, grpcStatus, '');
      });
      request.pipe(stream);
      stream.pipe(request);
      request.once('close', () => {
        if (!done && status === 0) {
          // The upstream stream ended before any response (its connection went away, or it was
          // refused): nothing reached the application, so answer as unavailable.
          h.ewma.abandon();
          h.breaker.failure();
          unavailable(
            new ProxyError(
              'E_UPSTREAM_STREAM',
              `${h.key} closed the stream before responding (code ${request.rstCode ?? 0})`,
            ),
          );
          return;
        }
        if (!done && request.rstCode && request.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
          h.ewma.abandon();
          finish(status || 502, grpcStatus, `stream reset by upstream (code ${request.rstCode})`);
          if (!stream.destroyed) stream.close(request.rstCode);
        }
      });
      stream.once('close', () => {
        if (!request.closed) {
          h.ewma.abandon();
          finish(status || 499, grpcStatus, `stream reset by client (code ${stream.rstCode})`);
          request.close(stream.rstCode || NGHTTP2_CANCEL);
        }
      });
      request.on('error', () => {});
      stream.on('error', () => {});
    };
    run().catch(unavailable);
  }

  close(): void {
    for (const entry of this.#sessions.values())
      entry.session.then(
        (s) => s.close(),
        () => {},
      );
    this.#sessions.clear();
  }

  #sessionFor(handle: EndpointHandle, authority: string): Promise<http2.ClientHttp2Session> {
    const key = handle.connectionKey;
    const existing = this.#sessions.get(key);
    if (existing) return existing.session;
    const forget = () => {
      if (this.#sessions.get(key) === entry) this.#sessions.delete(key);
    };
    const session = this.#open(handle, authority, forget);
    session.catch(forget);
    const entry: SessionEntry = { session };
    this.#sessions.set(key, entry);
    return session;
  }

  /**
   * Connects to an endpoint and waits for the peer's HTTP/2 settings, all within the
   * connect timeout. `forget` is called once the session can take no new streams.
   */
  async #open(
    handle: EndpointHandle,
    authority: string,
    forget: () => void,
  ): Promise<http2.ClientHttp2Session> {
    const timeoutMs = this.#client.connectTimeoutMs;
    const socket = await this.#client.connectTo(handle, 'http2', { authority });
    const s = http2.connect(`http://${authority}`, { createConnection: () => socket });
    s.on('error', (error) =>
      this.#client.log.info('upstream HTTP/2 session failed', { authority, error: error.message }),
    );
    s.once('close', forget);
    s.once('goaway', forget);
    // Sockets to peers allow half-open connections; an HTTP/2 peer that ends its side is gone.
    socket.once('end', () => s.destroy());
    await new Promise<void>((resolve, reject) => {
      const fail = (error: ProxyError) => {
        clearTimeout(timer);
        handle.breaker.failure();
        s.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () =>
          fail(
            new ProxyError(
              'E_CONNECT_TIMEOUT',
              `no HTTP/2 settings from ${handle.key} within ${timeoutMs} ms of connecting`,
            ),
          ),
        timeoutMs,
      );
      s.once('remoteSettings', () => {
        clearTimeout(timer);
        s.off('close', closed);
        resolve();
      });
      const closed = () =>
        fail(new ProxyError('E_CONNECT', `HTTP/2 connection to ${handle.key} closed before its settings`));
      s.once('close', closed);
    });
    return s;
  }
}
