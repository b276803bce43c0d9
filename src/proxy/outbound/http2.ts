import type {
  ClientHttp2Session,
  ClientHttp2Stream,
  IncomingHttpHeaders,
  OutgoingHttpHeaders,
  ServerHttp2Stream,
} from 'node:http2';
import { describeError } from '../../core/errors.ts';
import { RetryBudget } from '../balance/retry-budget.ts';
import {
  isEndpointFailure,
  isFailureResponse,
  isRetryableResponse,
  matchRoute,
  type Profile,
  pickOverride,
} from '../discovery/profile.ts';
import { ProxyError } from '../errors.ts';
import type { TapHub } from '../tap/hub.ts';
import { http2 } from '../transport/lazy-http2.ts';
import type { OutboundClient } from './client.ts';
import { isIdempotent } from './headers.ts';
import { type ProfileCache, withProfile } from './profiles.ts';
import { ReplayableBody } from './replayable-body.ts';
import type { EndpointHandle } from './targets.ts';

const END_STREAM = 0x1;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);
/** Bodies up to this size are kept for retries; a request with more is not retried. */
const MAX_RETRY_BODY_BYTES = 64 * 1024;

export interface Http2ForwarderOptions {
  client: OutboundClient;
  tap?: TapHub;
  /** Retries per request (0: none); see `Http2Forwarder`. */
  retryLimit?: number;
  /** Budget for targets without a profile budget. */
  budget?: RetryBudget;
  /** Service profiles (routes, timeouts, retries, weighted backends); none when absent. */
  profiles?: ProfileCache;
}

interface SessionEntry {
  /** Settles within the connect timeout: a session that has the peer's settings, or the reason there is none. */
  session: Promise<ClientHttp2Session>;
}

/**
 * Forwards HTTP/2 (and so gRPC) streams to a target, choosing an endpoint per
 * stream and multiplexing streams over one connection per endpoint. Streaming
 * bodies, trailers and resets pass through in both directions.
 *
 * Profiles apply as for HTTP/1.1: the matching route's timeout (gRPC gets a
 * trailers-only DEADLINE_EXCEEDED, other requests 504), its response classes,
 * and retries under the target's budget. A request is retried on a response
 * only when its whole body (at most 64 KiB) has arrived and was kept, and
 * only before any of the response went to the client: gRPC on a retryable
 * route when the status is one the route retries (UNAVAILABLE unless it names
 * others), other requests on a retryable route's
 * failure classes (without a route: idempotent methods on 502–504). A request
 * that reached no server (connect failure, refused stream) is retried
 * whatever its method.
 */
export class Http2Forwarder {
  readonly #client: OutboundClient;
  readonly #tap: TapHub | undefined;
  readonly #retryLimit: number;
  readonly #budget: RetryBudget;
  readonly #profiles: ProfileCache | undefined;
  readonly #sessions = new Map<string, SessionEntry>();

  constructor(options: Http2ForwarderOptions) {
    this.#client = options.client;
    this.#tap = options.tap;
    this.#retryLimit = options.retryLimit ?? 1;
    this.#budget = options.budget ?? new RetryBudget();
    this.#profiles = options.profiles;
  }

  /** Forwards one server stream to `authority`, following its profile. */
  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, authority: string): void {
    withProfile(this.#profiles, authority, this.#client.discoveryTimeoutMs, this.#budget, (profile, budget) =>
      this.#forward(stream, headers, authority, profile, budget),
    );
  }

  #forward(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    authority: string,
    profile: Profile,
    budget: RetryBudget,
  ): void {
    if (stream.destroyed) return;
    const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2().constants;
    const started = performance.now();
    const startedAtMs = Date.now();
    const method = String(headers[':method'] ?? 'GET');
    const path = String(headers[':path'] ?? '/');
    const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
    const route = matchRoute(profile, method, path);
    const timeoutMs = route?.timeoutMs ?? 0;
    const retryOnResponse =
      this.#retryLimit > 0 && (route ? route.isRetryable : !grpc && isIdempotent(method));
    const body = new ReplayableBody(stream, MAX_RETRY_BODY_BYTES, stream.endAfterHeaders);
    // Split traffic goes to one backend per request, as for HTTP/1.1.
    const override = pickOverride(profile.dstOverrides);
    const backend = override?.authority ?? authority;
    const group = override?.ownGroup;
    const out = requestHeaders(headers);
    const metrics = this.#client.metrics;
    const log = this.#client.log;
    budget.deposit();
    let attempts = 0;
    /** Endpoints that already failed this request: another attempt goes elsewhere when it can. */
    const failed = new Set<string>();
    let handle: EndpointHandle | undefined;
    let current: ClientHttp2Stream | undefined;
    let labels = '';
    let status = 0;
    let committed = false;
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
      clearTimeout(timer);
      if (!labels) {
        // An answer of the proxy's own before any endpoint was picked: the backend's labels.
        labels = this.#client.targetLabels(backend, authority);
        metrics?.requestTotal.inc(labels);
      }
      const failure = error !== '' || isFailureResponse(route, status, grpcStatus);
      metrics?.responseTotal.inc(
        `${labels},status_code="${status}",classification="${failure ? 'failure' : 'success'}"`,
      );
      record(status, error);
    };
    /** Answers for the proxy (no upstream answer to forward): gRPC as trailers-only. */
    const answer = (httpStatus: number, grpcCode: string, error: unknown) => {
      if (done) return;
      const text = describeError(error);
      log.info('outbound stream failed', { authority, path, error: text });
      finish(grpc ? 200 : httpStatus, grpc ? grpcCode : undefined, text);
      if (current && !current.closed) current.close(NGHTTP2_CANCEL);
      if (stream.destroyed) return;
      if (stream.headersSent) {
        stream.close(NGHTTP2_CANCEL);
        return;
      }
      if (grpc) {
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': grpcCode,
            'grpc-message': encodeURIComponent(text),
          },
          { endStream: true },
        );
      } else {
        stream.respond({ ':status': httpStatus, 'content-type': 'text/plain', 'l5d-proxy-error': text });
        stream.end(`${text}\n`);
      }
    };
    /** Starts another attempt when the limit, the body and the budget allow one. */
    const retry = (): boolean => {
      if (done || attempts > this.#retryLimit || !body.replayable || !budget.withdraw()) return false;
      if (handle) failed.add(handle.key);
      body.detach();
      void attempt();
      return true;
    };
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            if (committed) return;
            handle?.ewma.abandon();
            answer(
              504,
              '4',
              new ProxyError('E_REQUEST_TIMEOUT', `no response in ${timeoutMs} ms (route ${route?.name})`),
            );
          }, timeoutMs)
        : undefined;

    const attempt = async () => {
      attempts++;
      let h: EndpointHandle;
      try {
        h =
          failed.size === 0
            ? await this.#client.pick(backend, group)
            : await this.#client.pickAvoiding([backend, authority], failed, group);
      } catch (error) {
        answer(503, '14', error);
        return;
      }
      if (done) return;
      handle = h;
      if (!labels) {
        labels = h.labels(authority);
        metrics?.requestTotal.inc(labels);
      }
      let request: ClientHttp2Stream;
      try {
        const session = await this.#sessionFor(h, authority);
        if (done) return;
        out[':authority'] = h.endpoint.authorityOverride ?? headers[':authority'] ?? authority;
        request = session.request(out, { endStream: body.empty });
      } catch (error) {
        // Nothing reached a server, so any request may go again.
        if (retry()) return;
        const timedOut = error instanceof ProxyError && error.code === 'E_CONNECT_TIMEOUT';
        answer(timedOut ? 504 : 503, '14', error);
        return;
      }
      current = request;
      let over = false;
      let grpcStatus: string | undefined;
      let trailers: IncomingHttpHeaders | undefined;
      let held: IncomingHttpHeaders | undefined;
      status = 0;
      h.ewma.start();
      const sent = performance.now();

      const completed = () => {
        if (isEndpointFailure(status, grpcStatus)) h.breaker.failure();
        else h.breaker.success();
        finish(status, grpcStatus, '');
      };
      /** Drops this attempt's response and tries again; false when no retry is allowed. */
      const retryInstead = (): boolean => {
        if (!retryOnResponse || !body.complete || !isRetryableResponse(route, status, grpcStatus))
          return false;
        if (!retry()) return false;
        if (isEndpointFailure(status, grpcStatus)) h.breaker.failure();
        over = true;
        request.close(NGHTTP2_CANCEL);
        return true;
      };
      const commit = (responseHeaders: IncomingHttpHeaders, endStream: boolean, first?: Buffer) => {
        committed = true;
        clearTimeout(timer);
        metrics?.responseLatencyMs.observe(labels, performance.now() - started);
        if (stream.destroyed) {
          request.close(NGHTTP2_CANCEL);
          return;
        }
        const reply: OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(responseHeaders)) {
          if (!HOP_BY_HOP.has(name)) reply[name] = value;
        }
        if (!endStream) {
          stream.once('wantTrailers', () => {
            const send: OutgoingHttpHeaders = {};
            for (const [name, value] of Object.entries(trailers ?? {}))
              if (!name.startsWith(':')) send[name] = value;
            stream.sendTrailers(send);
            completed();
          });
        }
        stream.respond(reply, { endStream, waitForTrailers: !endStream });
        if (endStream) {
          completed();
          return;
        }
        if (first) stream.write(first);
        request.pipe(stream);
      };
      const firstData = (chunk: Buffer) => {
        const response = held as IncomingHttpHeaders;
        held = undefined;
        commit(response, false, chunk);
      };

      request.once('response', (responseHeaders, flags) => {
        if (done) return;
        status = Number(responseHeaders[':status']);
        grpcStatus = responseHeaders['grpc-status'] as string | undefined;
        h.ewma.finish(performance.now() - sent);
        const endStream = (flags & END_STREAM) !== 0;
        if (endStream || !grpc || status !== 200) {
          if (!retryInstead()) commit(responseHeaders, endStream);
          return;
        }
        if (retryOnResponse && body.replayable) {
          // The status of this gRPC call comes in its trailers: keep the headers back
          // until the first message (then the call is answered) or the trailers.
          held = responseHeaders;
          request.once('data', firstData);
          return;
        }
        commit(responseHeaders, false);
      });
      request.on('trailers', (t) => {
        trailers = t;
        grpcStatus = (t['grpc-status'] as string | undefined) ?? grpcStatus;
        if (!held || done) return;
        const response = held;
        held = undefined;
        request.off('data', firstData);
        if (!retryInstead()) commit(response, false);
      });
      request.once('close', () => {
        if (over || done || current !== request) return;
        const code = request.rstCode ?? 0;
        if (status === 0) {
          h.ewma.abandon();
          h.breaker.failure();
          // A refused stream was not processed by the server.
          if (code === NGHTTP2_REFUSED_STREAM && retry()) return;
          answer(
            503,
            '14',
            new ProxyError(
              'E_UPSTREAM_STREAM',
              `${h.key} closed the stream before responding (code ${code})`,
            ),
          );
          return;
        }
        if (!committed) {
          answer(502, '14', new ProxyError('E_UPSTREAM_STREAM', `${h.key} ended the response early`));
          return;
        }
        if (code !== NGHTTP2_NO_ERROR) {
          h.ewma.abandon();
          h.breaker.failure();
          finish(status, grpcStatus, `stream reset by upstream (code ${code})`);
          if (!stream.destroyed) stream.close(code);
        }
      });
      request.on('error', () => {});
      body.attach(request);
    };

    stream.on('error', () => {});
    stream.once('close', () => {
      if (done) return;
      handle?.ewma.abandon();
      finish(status || 499, undefined, `stream reset by client (code ${stream.rstCode})`);
      if (current && !current.closed) current.close(stream.rstCode || NGHTTP2_CANCEL);
    });
    void attempt();
  }

  close(): void {
    for (const entry of this.#sessions.values())
      entry.session.then(
        (s) => s.close(),
        () => {},
      );
    this.#sessions.clear();
  }

  #sessionFor(handle: EndpointHandle, authority: string): Promise<ClientHttp2Session> {
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
  async #open(handle: EndpointHandle, authority: string, forget: () => void): Promise<ClientHttp2Session> {
    const timeoutMs = this.#client.connectTimeoutMs;
    const socket = await this.#client.connectTo(handle, 'http2', { authority });
    const s = http2().connect(`http://${authority}`, { createConnection: () => socket });
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

/** The request headers to send upstream: pseudo-headers but :authority, minus hop-by-hop ones. */
function requestHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (
      HOP_BY_HOP.has(name) ||
      (name.startsWith(':') && name !== ':method' && name !== ':path' && name !== ':scheme')
    )
      continue;
    out[name] = value;
  }
  return out;
}
