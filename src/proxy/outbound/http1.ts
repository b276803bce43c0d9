import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { describeError } from '../../core/errors.ts';
import { RetryBudget } from '../balance/retry-budget.ts';
import {
  isFailureStatus,
  matchRoute,
  type Profile,
  type ProfileRoute,
  pickOverride,
} from '../discovery/profile.ts';
import { ProxyError } from '../errors.ts';
import { classifyResponse } from '../metrics/proxy-metrics.ts';
import type { TapHub } from '../tap/hub.ts';
import { ORIG_PROTO_HEADER } from '../transport/header.ts';
import { relay } from '../transport/relay.ts';
import type { OutboundClient } from './client.ts';
import { forwardRawHeaders, isIdempotent } from './headers.ts';
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
  /** Idle pooled connections to an endpoint close after this long. */
  poolIdleMs?: number;
  /**
   * Carry HTTP/1.1 to meshed endpoints as streams of one multiplexed HTTP/2
   * connection per endpoint (Linkerd's orig-proto upgrade) instead of pooled
   * HTTP/1.1 connections. Off by default: see bench/results/proxy.json.
   */
  upgradeMeshed?: boolean;
}

interface Pool {
  agent: http.Agent;
  handle: EndpointHandle;
}

/**
 * Forwards HTTP/1.1 requests to a target, choosing an endpoint per request
 * and reusing pooled connections (mTLS to meshed endpoints). Upgrades
 * (WebSocket) are relayed as raw bytes after the request head.
 */
export class Http1Forwarder {
  readonly #client: OutboundClient;
  readonly #tap: TapHub | undefined;
  readonly #requestTimeoutMs: number;
  readonly #retryLimit: number;
  readonly #budget: RetryBudget;
  readonly #poolIdleMs: number;
  readonly #pools = new Map<string, Pool>();
  readonly #upgradeMeshed: boolean;
  readonly #sessions = new Map<string, Promise<http2.ClientHttp2Session>>();
  readonly #profiles: ProfileCache | undefined;

  constructor(options: Http1ForwarderOptions) {
    this.#client = options.client;
    this.#tap = options.tap;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 0;
    this.#retryLimit = options.retryLimit ?? 1;
    this.#budget = options.budget ?? new RetryBudget();
    this.#poolIdleMs = options.poolIdleMs ?? 3000;
    this.#upgradeMeshed = options.upgradeMeshed ?? false;
    this.#profiles = options.profiles;
  }

  /** Forwards one request to `authority` ("name:port" or "ip:port"), following its profile. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, authority: string): void {
    withProfile(this.#profiles, authority, this.#client.discoveryTimeoutMs, this.#budget, (profile, budget) =>
      this.#forward(req, res, authority, profile, budget),
    );
  }

  #forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    authority: string,
    profile: Profile,
    budget: RetryBudget,
  ): void {
    const started = performance.now();
    const startedAtMs = Date.now();
    const method = req.method ?? 'GET';
    const path = originForm(req.url ?? '/');
    const route = matchRoute(profile, method, path);
    const requestTimeoutMs = route?.timeoutMs || this.#requestTimeoutMs;
    const bodyLength =
      req.headers['content-length'] === undefined ? 0 : Number(req.headers['content-length']);
    const retryable =
      this.#retryLimit > 0 &&
      (route === undefined || route.isRetryable) &&
      isIdempotent(method) &&
      req.headers['transfer-encoding'] === undefined &&
      Number.isInteger(bodyLength) &&
      bodyLength <= MAX_RETRY_BODY_BYTES;
    let body: Buffer | undefined;
    // Split traffic goes to one backend per request; its endpoints come from its own Get stream,
    // never from the apex's (which already merges the backends), so the split applies once.
    const override = pickOverride(profile.dstOverrides);
    const backend = override?.authority ?? authority;
    const group = override?.ownGroup;
    budget.deposit();
    let attempts = 0;
    let finished = false;
    let current: http.ClientRequest | undefined;
    let handle: EndpointHandle | undefined;
    let labels = '';
    /** Endpoints that already failed this request: another try goes elsewhere when it can. */
    const failed = new Set<string>();
    const log = this.#client.log;
    const metrics = this.#client.metrics;

    const timer =
      requestTimeoutMs > 0
        ? setTimeout(
            () =>
              fail(
                504,
                new ProxyError(
                  'E_REQUEST_TIMEOUT',
                  `no response in ${requestTimeoutMs} ms${route ? ` (route ${route.name})` : ''}`,
                ),
              ),
            requestTimeoutMs,
          )
        : undefined;

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
        source: req.socket.remoteAddress ?? '',
        destination: handle?.key ?? '',
        startedAtMs,
        error,
      });
    };

    const fail = (status: number, error: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      current?.destroy();
      handle?.ewma.abandon();
      log.info('outbound request failed', { authority, path, status, error: describeError(error) });
      if (!labels) {
        labels = this.#client.targetLabels(backend, authority);
        metrics?.requestTotal.inc(labels);
      }
      metrics?.responseTotal.inc(`${labels},status_code="${status}",classification="failure"`);
      record(status, describeError(error));
      if (res.headersSent) res.destroy();
      else {
        res.writeHead(status, { 'content-type': 'text/plain', 'l5d-proxy-error': describeError(error) });
        res.end(`${describeError(error)}\n`);
      }
    };

    const attempt = async () => {
      attempts++;
      try {
        handle =
          failed.size === 0
            ? await this.#client.pick(backend, group)
            : await this.#client.pickAvoiding([backend, authority], failed, group);
      } catch (error) {
        // A split's backend without endpoints: the apex's endpoints are all the backends'.
        const noEndpoints = error instanceof ProxyError && error.code === 'E_NO_ENDPOINTS';
        handle =
          noEndpoints && backend !== authority
            ? await this.#client.pickAvoiding([authority], failed).catch(() => undefined)
            : undefined;
        if (!handle) {
          fail(503, error);
          return;
        }
      }
      if (finished) return;
      const h = handle;
      if (attempts === 1) {
        labels = h.labels(authority);
        metrics?.requestTotal.inc(labels);
      }
      // An absolute-form target wins over the Host header (RFC 9112 §3.2.2).
      const host = h.endpoint.authorityOverride ?? absoluteAuthority(req.url ?? '/');
      if (this.#upgradeMeshed && h.endpoint.tlsIdentity && h.endpoint.opaqueTransportPort) {
        this.#forwardUpgraded(req, res, h, authority, host ?? req.headers.host ?? authority, {
          fail,
          done: (status, grpc) => {
            clearTimeout(timer);
            finished = true;
            metrics?.responseLatencyMs.observe(labels, performance.now() - started);
            metrics?.responseTotal.inc(
              `${labels},status_code="${status}",classification="${classify(route, status, grpc)}"`,
            );
            record(status, '');
          },
        });
        return;
      }
      const upstream = http.request({
        agent: this.#agentFor(h, authority),
        method,
        path,
        headers: forwardRawHeaders(req.rawHeaders, host),
        setHost: false,
      });
      current = upstream;
      h.ewma.start();
      const sent = performance.now();
      upstream.on('response', (ures) => {
        const status = ures.statusCode ?? 502;
        if (finished) {
          ures.destroy();
          return;
        }
        if (retryable && shouldRetry(route, status) && attempts <= this.#retryLimit && budget.withdraw()) {
          h.ewma.finish(performance.now() - sent);
          h.breaker.failure();
          failed.add(h.key);
          ures.resume();
          void attempt();
          return;
        }
        clearTimeout(timer);
        const elapsed = performance.now() - started;
        h.ewma.finish(performance.now() - sent);
        if (isFailureStatus(route, status)) h.breaker.failure();
        else h.breaker.success();
        metrics?.responseLatencyMs.observe(labels, elapsed);
        res.writeHead(status, ures.statusMessage, forwardRawHeaders(ures.rawHeaders));
        ures.pipe(res, { end: false });
        ures.once('end', () => {
          if (ures.rawTrailers.length > 0) res.addTrailers(pairs(ures.rawTrailers));
          res.end();
          finished = true;
          const grpc = ures.headers['grpc-status'] as string | undefined;
          metrics?.responseTotal.inc(
            `${labels},status_code="${status}",classification="${classify(route, status, grpc)}"`,
          );
          record(status, '');
        });
        ures.once('error', (error) => fail(502, error));
      });
      // A request that never got a connection sent nothing: any method may go again.
      let piped = false;
      upstream.on('error', (error) => {
        if (finished) return;
        h.ewma.abandon();
        h.breaker.failure();
        const again = retryable || !piped;
        if (again && attempts <= this.#retryLimit && !res.headersSent && budget.withdraw()) {
          failed.add(h.key);
          void attempt();
          return;
        }
        fail(error instanceof ProxyError && error.code === 'E_CONNECT_TIMEOUT' ? 504 : 502, error);
      });
      if (retryable) upstream.end(body);
      else
        upstream.once('socket', () => {
          piped = true;
          req.pipe(upstream);
        });
    };

    res.once('close', () => {
      if (!finished) {
        finished = true;
        clearTimeout(timer);
        current?.destroy();
        handle?.ewma.abandon();
      }
    });
    if (!retryable || bodyLength === 0) {
      if (retryable) req.resume();
      void attempt();
      return;
    }
    // Keep the (small) body so that a retry can send it again.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      body = Buffer.concat(chunks);
      void attempt();
    });
  }

  /**
   * Sends one HTTP/1.1 request as a stream on a multiplexed HTTP/2 connection
   * to the peer proxy, which turns it back into HTTP/1.1 for the application.
   */
  #forwardUpgraded(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    h: EndpointHandle,
    authority: string,
    host: string,
    on: {
      fail: (status: number, error: unknown) => void;
      done: (status: number, grpc: string | undefined) => void;
    },
  ): void {
    const headers: http2.OutgoingHttpHeaders = {
      ':method': req.method ?? 'GET',
      ':path': originForm(req.url ?? '/'),
      ':authority': host,
      ':scheme': 'http',
      [ORIG_PROTO_HEADER]: `HTTP/${req.httpVersion}`,
    };
    const raw = forwardRawHeaders(req.rawHeaders);
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      if (name !== 'host') headers[name] = raw[i + 1] as string;
    }
    h.ewma.start();
    const sent = performance.now();
    this.#h2Session(h, authority).then(
      (session) => {
        const stream = session.request(headers);
        stream.on('response', (responseHeaders) => {
          const status = Number(responseHeaders[':status']);
          h.ewma.finish(performance.now() - sent);
          if (status >= 500) h.breaker.failure();
          else h.breaker.success();
          const reply: Array<[string, string | string[]]> = [];
          for (const [name, value] of Object.entries(responseHeaders)) {
            if (!name.startsWith(':') && value !== undefined) reply.push([name, value as string | string[]]);
          }
          res.writeHead(status, reply.flat() as string[]);
          stream.pipe(res);
          stream.once('end', () => on.done(status, responseHeaders['grpc-status'] as string | undefined));
        });
        stream.on('error', (error) => on.fail(502, error));
        res.once('close', () => {
          if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        });
        req.pipe(stream);
      },
      (error: unknown) => {
        h.ewma.abandon();
        h.breaker.failure();
        on.fail(502, error);
      },
    );
  }

  #h2Session(handle: EndpointHandle, authority: string): Promise<http2.ClientHttp2Session> {
    const key = handle.connectionKey;
    const existing = this.#sessions.get(key);
    if (existing) return existing;
    const forget = () => {
      if (this.#sessions.get(key) === session) this.#sessions.delete(key);
    };
    const session = this.#client.connectTo(handle, 'http1Upgraded', { authority }).then((socket) => {
      const s = http2.connect(`http://${authority}`, { createConnection: () => socket });
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
  async upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer, authority: string): Promise<void> {
    socket.on('error', () => {});
    try {
      const handle = await this.#client.pick(authority);
      const upstream = await this.#client.connectTo(handle, 'http1', { authority });
      const headers = forwardRawHeaders(req.rawHeaders, handle.endpoint.authorityOverride, [
        'connection',
        'upgrade',
      ]);
      let text = `${req.method} ${originForm(req.url ?? '/')} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
      upstream.write(`${text}\r\n`);
      if (head.length > 0) upstream.write(head);
      relay(socket, upstream);
    } catch (error) {
      this.#client.log.info('upgrade failed', { authority, error: describeError(error) });
      socket.end(`HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
  }

  /** Closes idle pooled connections; in-flight requests finish. */
  close(): void {
    for (const pool of this.#pools.values()) pool.agent.destroy();
    this.#pools.clear();
    for (const session of this.#sessions.values())
      session.then(
        (s) => s.close(),
        () => {},
      );
    this.#sessions.clear();
  }

  #agentFor(handle: EndpointHandle, authority: string): http.Agent {
    const key = handle.connectionKey;
    const pool = this.#pools.get(key);
    if (pool) {
      pool.handle = handle;
      return pool.agent;
    }
    const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo', timeout: this.#poolIdleMs });
    const entry: Pool = { agent, handle };
    const client = this.#client;
    agent.createConnection = ((_options: unknown, done: (error: Error | null, socket?: Socket) => void) => {
      client.connectTo(entry.handle, 'http1', { authority }).then(
        (socket) => done(null, socket),
        (error: Error) => done(error),
      );
      return undefined;
    }) as unknown as http.Agent['createConnection'];
    this.#pools.set(key, entry);
    return agent;
  }
}

/** Bodies up to this size are kept for retries; larger requests are not retried. */
const MAX_RETRY_BODY_BYTES = 64 * 1024;

/** Retry on a retryable route's failure classes; without a route, on 502/503/504 only. */
function shouldRetry(route: ProfileRoute | undefined, status: number): boolean {
  return route ? isFailureStatus(route, status) : status >= 502 && status <= 504;
}

function classify(
  route: ProfileRoute | undefined,
  status: number,
  grpc: string | undefined,
): 'success' | 'failure' {
  if (!route) return classifyResponse(status, grpc);
  if (grpc !== undefined && grpc !== '0') return 'failure';
  return isFailureStatus(route, status) ? 'failure' : 'success';
}

/** "http://host/path?q" → "/path?q"; origin-form passes through. */
function originForm(url: string): string {
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}

function absoluteAuthority(url: string): string | undefined {
  if (url.startsWith('/')) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}
