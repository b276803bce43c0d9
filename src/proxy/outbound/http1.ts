import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import { describeError } from '../../core/errors.ts';
import { RetryBudget } from '../balance/retry-budget.ts';
import { EMPTY_PROFILE, matchRoute, type Profile, pickOverride } from '../discovery/profile.ts';
import type { Endpoint } from '../discovery/types.ts';
import { BodyFramer } from '../http1/framing.ts';
import { reasonPhrase } from '../http1/reason.ts';
import type { TapHub } from '../tap/hub.ts';
import { ORIG_PROTO_HEADER } from '../transport/header.ts';
import { http2 } from '../transport/lazy-http2.ts';
import { relay } from '../transport/relay.ts';
import type { HandedOffRequest } from './app-connection.ts';
import type { AppExchange } from './app-exchange.ts';
import type { OutboundClient } from './client.ts';
import { forwardRawHeaders, isIdempotent } from './headers.ts';
import { Http1Pool } from './http1-pool.ts';
import { ForwardedRequest, type Http1Context } from './http1-request.ts';
import { type ProfileCache, withProfile } from './profiles.ts';
import type { EndpointHandle } from './targets.ts';

export interface Http1ForwarderOptions {
  client: OutboundClient;
  tap?: TapHub;
  /** Answer 504 when no response head arrives in this time; 0 disables. */
  requestTimeoutMs?: number;
  /**
   * Retries per request of idempotent requests with bodies up to 64 KiB: on
   * connect errors, and on 502/503/504 (or, on a retryable profile route, on
   * its failure classes). Routes of a profile not marked retryable get none.
   */
  retryLimit?: number;
  budget?: RetryBudget;
  /** Service profiles (routes, timeouts, retries, weighted backends); none when absent. */
  profiles?: ProfileCache;
  /**
   * Idle pooled connections to an unmeshed endpoint close after this long:
   * less than common server keep-alive timeouts (Node's is 5 s), so a request
   * is seldom written on a connection the server is closing.
   */
  poolIdleMs?: number;
  /**
   * Idle pooled connections to a meshed endpoint (its proxy never closes an
   * idle meshed connection first) close after this long: a new one costs an
   * mTLS handshake on both proxies, which shows in the tail latency.
   */
  meshedPoolIdleMs?: number;
  /**
   * Carry HTTP/1.1 to meshed endpoints as streams of one multiplexed HTTP/2
   * connection per endpoint (Linkerd's orig-proto upgrade) instead of pooled
   * HTTP/1.1 connections. Off by default: see bench/results/proxy.json.
   */
  upgradeMeshed?: boolean;
}

/**
 * Forwards HTTP/1.1 requests to a target, choosing an endpoint per request
 * and reusing pooled connections (mTLS to meshed endpoints). Upgrades
 * (WebSocket) are relayed as raw bytes after the request head.
 */
export class Http1Forwarder {
  readonly client: OutboundClient;
  readonly tap: TapHub | undefined;
  readonly retryLimit: number;
  readonly #requestTimeoutMs: number;
  readonly #budget: RetryBudget;
  readonly #poolIdleMs: number;
  readonly #meshedPoolIdleMs: number;
  readonly #pools = new Map<string, { pool: Http1Pool; handle: EndpointHandle }>();
  /** Each handle's pool, while its endpoint is the one the pool was found for (saves building the key). */
  #poolOfHandle = new WeakMap<EndpointHandle, { endpoint: Endpoint; key: string; pool: Http1Pool }>();
  readonly #upgradeMeshed: boolean;
  readonly #sessions = new Map<string, Promise<ClientHttp2Session>>();
  readonly #profiles: ProfileCache | undefined;
  readonly #context: Http1Context;

  constructor(options: Http1ForwarderOptions) {
    this.client = options.client;
    this.tap = options.tap;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 0;
    this.retryLimit = options.retryLimit ?? 1;
    this.#budget = options.budget ?? new RetryBudget();
    this.#poolIdleMs = options.poolIdleMs ?? 3000;
    this.#meshedPoolIdleMs = options.meshedPoolIdleMs ?? 30_000;
    this.#upgradeMeshed = options.upgradeMeshed ?? false;
    this.#profiles = options.profiles;
    this.#context = {
      client: this.client,
      tap: this.tap,
      retryLimit: this.retryLimit,
      poolFor: (handle, authority) => this.#poolFor(handle, authority),
      upgraded: (handle) =>
        this.#upgradeMeshed &&
        handle.endpoint.tlsIdentity !== undefined &&
        !!handle.endpoint.opaqueTransportPort,
      forwardUpgraded: (request, handle, host) => this.#forwardUpgraded(request, handle, host),
    };
  }

  /** Forwards one request to `authority` ("name:port" or "ip:port"), following its profile. */
  handle(app: AppExchange, authority: string): void {
    // At once when the profile is known (or none is followed); else once it comes.
    const entry = this.#profiles?.get(authority);
    if (!entry) this.#forward(app, authority, EMPTY_PROFILE, this.#budget);
    else if (entry.known) this.#forward(app, authority, entry.profile, entry.budget);
    else
      withProfile(
        this.#profiles,
        authority,
        this.client.discoveryTimeoutMs,
        this.#budget,
        (profile, budget) => this.#forward(app, authority, profile, budget),
      );
  }

  #forward(app: AppExchange, authority: string, profile: Profile, budget: RetryBudget): void {
    const method = app.method;
    const path = app.path;
    const route = matchRoute(profile, method, path);
    const transferEncoding = app.transferEncoding;
    const bodyLength = Math.max(0, app.contentLength);
    // Split traffic goes to one backend per request; its endpoints come from its own Get stream,
    // never from the apex's (which already merges the backends), so the split applies once.
    const override = pickOverride(profile.dstOverrides);
    new ForwardedRequest(this.#context, app, {
      authority,
      backend: override?.authority ?? authority,
      group: override?.ownGroup,
      method,
      path,
      route,
      requestTimeoutMs: route?.timeoutMs || this.#requestTimeoutMs,
      budget,
      retryable:
        this.retryLimit > 0 &&
        (route === undefined || route.isRetryable) &&
        isIdempotent(method) &&
        !transferEncoding &&
        bodyLength <= MAX_RETRY_BODY_BYTES,
      bodyLength,
      transferEncoding,
    }).start();
  }

  /**
   * Sends one HTTP/1.1 request as a stream on a multiplexed HTTP/2 connection
   * to the peer proxy, which turns it back into HTTP/1.1 for the application.
   */
  #forwardUpgraded(request: ForwardedRequest, h: EndpointHandle, host: string): void {
    const { app } = request;
    const headers: OutgoingHttpHeaders = {
      ':method': app.method,
      ':path': request.plan.path,
      ':authority': host,
      ':scheme': 'http',
      [ORIG_PROTO_HEADER]: `HTTP/${app.httpVersion}`,
    };
    const raw = forwardRawHeaders(app.rawHeaders);
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      if (name !== 'host') headers[name] = raw[i + 1] as string;
    }
    h.ewma.start();
    const sent = performance.now();
    this.#h2Session(h, request.plan.authority).then(
      (session) => {
        const stream = session.request(headers);
        stream.on('response', (responseHeaders) => {
          const status = Number(responseHeaders[':status']);
          h.ewma.finish(performance.now() - sent);
          if (status >= 500) h.breaker.failure();
          else h.breaker.success();
          this.client.metrics?.responseLatencyMs.observe(
            request.labels,
            performance.now() - request.startedAt,
          );
          const reply: Array<[string, string | string[]]> = [];
          for (const [name, value] of Object.entries(responseHeaders)) {
            if (!name.startsWith(':') && value !== undefined) reply.push([name, value as string | string[]]);
          }
          app.writeHead(status, reasonPhrase(status), reply.flat() as string[]);
          stream.on('data', (chunk: Buffer) => {
            if (!app.write(chunk)) {
              stream.pause();
              app.onDrain(() => stream.resume());
            }
          });
          stream.once('end', () => {
            app.end();
            request.done(status, responseHeaders['grpc-status'] as string | undefined);
          });
        });
        stream.on('error', (error) => request.fail(502, error));
        app.onAbort(() => {
          if (!stream.closed) stream.close(http2().constants.NGHTTP2_CANCEL);
        });
        sendBody(request, stream);
      },
      (error: unknown) => {
        h.ewma.abandon();
        h.breaker.failure();
        request.fail(502, error);
      },
    );
  }

  #h2Session(handle: EndpointHandle, authority: string): Promise<ClientHttp2Session> {
    const key = handle.connectionKey;
    const existing = this.#sessions.get(key);
    if (existing) return existing;
    const forget = () => {
      if (this.#sessions.get(key) === session) this.#sessions.delete(key);
    };
    const session = this.client.connectTo(handle, 'http1Upgraded', { authority }).then((socket) => {
      const s = http2().connect(`http://${authority}`, { createConnection: () => socket });
      s.on('error', () => {});
      s.once('close', forget);
      s.once('goaway', forget);
      return s;
    });
    session.catch(forget);
    this.#sessions.set(key, session);
    return session;
  }

  /** Relays an upgrade request (WebSocket) and everything after it as raw bytes. */
  async upgrade(request: HandedOffRequest, socket: Socket, head: Buffer, authority: string): Promise<void> {
    socket.on('error', () => {});
    try {
      const handle = await this.client.pick(authority);
      const upstream = await this.client.connectTo(handle, 'http1', { authority });
      const headers = forwardRawHeaders(request.rawHeaders, handle.endpoint.authorityOverride, [
        'connection',
        'upgrade',
      ]);
      let text = `${request.method} ${request.path} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
      upstream.write(`${text}\r\n`);
      if (head.length > 0) upstream.write(head);
      relay(socket, upstream);
    } catch (error) {
      this.client.log.info('upgrade failed', { authority, error: describeError(error) });
      socket.end(`HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
  }

  /** Closes idle pooled connections; in-flight requests finish. */
  close(): void {
    for (const { pool } of this.#pools.values()) pool.close();
    this.#pools.clear();
    this.#poolOfHandle = new WeakMap();
    for (const session of this.#sessions.values())
      session.then(
        (s) => s.close(),
        () => {},
      );
    this.#sessions.clear();
  }

  #poolFor(handle: EndpointHandle, authority: string): Http1Pool {
    const endpoint = handle.endpoint;
    const known = this.#poolOfHandle.get(handle);
    if (known?.endpoint === endpoint && this.#pools.get(known.key)?.pool === known.pool) return known.pool;
    const key = handle.connectionKey;
    let entry = this.#pools.get(key);
    if (entry) entry.handle = handle;
    else {
      const client = this.client;
      const pools = this.#pools;
      const created: { pool: Http1Pool; handle: EndpointHandle } = {
        handle,
        pool: new Http1Pool(
          () => client.connectTo(created.handle, 'http1', { authority }),
          endpoint.tlsIdentity ? this.#meshedPoolIdleMs : this.#poolIdleMs,
          // Without idle connections a pool is cheap to make again: drop it, and with it the
          // handle of an endpoint that may be gone (its busy connections finish on their own).
          () => {
            if (pools.get(key) === created) pools.delete(key);
          },
        ),
      };
      entry = created;
      this.#pools.set(key, entry);
    }
    this.#poolOfHandle.set(handle, { endpoint, key, pool: entry.pool });
    return entry.pool;
  }
}

/**
 * Sends the application's request body on an HTTP/2 stream: without its
 * chunked framing (HTTP/2 frames it), trailers dropped.
 */
function sendBody(request: ForwardedRequest, stream: ClientHttp2Stream): void {
  const { app, plan } = request;
  if (plan.bodyLength === 0 && !plan.transferEncoding) {
    stream.end();
    return;
  }
  const write = (data: Buffer) => {
    if (!stream.write(data)) {
      app.pauseBody();
      stream.once('drain', () => app.resumeBody());
    }
  };
  const framer = new BodyFramer({ onData: write });
  framer.start(plan.transferEncoding ? 'chunked' : 'length', plan.bodyLength);
  app.readBody(
    (chunk) => {
      try {
        framer.advance(chunk, 0, chunk.length);
      } catch (error) {
        request.fail(400, error);
      }
    },
    () => stream.end(),
  );
}

/** Bodies up to this size are kept for retries; larger requests are not retried. */
const MAX_RETRY_BODY_BYTES = 64 * 1024;
