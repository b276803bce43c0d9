import { describeError } from '../../core/errors.ts';
import type { RetryBudget } from '../balance/retry-budget.ts';
import { isFailureStatus, type ProfileRoute } from '../discovery/profile.ts';
import { ProxyError } from '../errors.ts';
import { classifyResponse } from '../metrics/proxy-metrics.ts';
import type { TapHub } from '../tap/hub.ts';
import type { KeepRead } from '../transport/reused-buffer.ts';
import type { AppExchange } from './app-exchange.ts';
import type { OutboundClient } from './client.ts';
import type { Http1Connection, Http1Exchange, Http1Pool } from './http1-pool.ts';
import type { UpstreamHead } from './http1-response.ts';
import type { EndpointHandle } from './targets.ts';

/** What a forwarded request needs from its forwarder. */
export interface Http1Context {
  readonly client: OutboundClient;
  readonly tap: TapHub | undefined;
  readonly retryLimit: number;
  /** The connection pool of an endpoint. */
  poolFor(handle: EndpointHandle, authority: string): Http1Pool;
  /** Sends the request over a multiplexed HTTP/2 connection instead, when the forwarder does that for `handle`. */
  upgraded(handle: EndpointHandle): boolean;
  forwardUpgraded(request: ForwardedRequest, handle: EndpointHandle, host: string): void;
}

/** Where one request goes: its target and the profile's decisions for it. */
export interface ForwardPlan {
  authority: string;
  /** The authority whose endpoints are picked: a split's backend, else `authority`. */
  backend: string;
  /** The backend group of the split's choice, when it shares the apex's endpoints. */
  group: string | undefined;
  method: string;
  /** Origin-form request target. */
  path: string;
  route: ProfileRoute | undefined;
  requestTimeoutMs: number;
  budget: RetryBudget;
  /** The request may be sent again: idempotent, a small body with a known length, allowed by its route. */
  retryable: boolean;
  /** The request's content-length, 0 without one. */
  bodyLength: number;
  /** The request came with a Transfer-Encoding (a chunked body). */
  transferEncoding: boolean;
}

/**
 * One HTTP/1.1 request on its way through the outbound side: picks an
 * endpoint per attempt, writes the request to a pooled connection, and sends
 * the response back to the application, with retries under the budget,
 * the request timeout (504), metrics, tap and endpoint feedback.
 */
export class ForwardedRequest implements Http1Exchange {
  readonly #context: Http1Context;
  readonly app: AppExchange;
  readonly plan: ForwardPlan;
  readonly head: boolean;
  readonly #started = performance.now();
  readonly #startedAtMs = Date.now();
  cancelled = false;
  #attempts = 0;
  #handle: EndpointHandle | undefined;
  #connection: Http1Connection | undefined;
  #labels = '';
  #sentAt = 0;
  #status = 0;
  #grpcStatus: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The kept body of a retryable request. */
  #body: Buffer | undefined;
  /** Endpoints that already failed this request: another try goes elsewhere when it can. */
  #failed: Set<string> | undefined;
  #resumeOnDrain: (() => void) | undefined;
  #waitingForDrain = false;

  constructor(context: Http1Context, app: AppExchange, plan: ForwardPlan) {
    this.#context = context;
    this.app = app;
    this.plan = plan;
    this.head = plan.method === 'HEAD';
  }

  /** When the request arrived (performance.now()). */
  get startedAt(): number {
    return this.#started;
  }

  /** The labels of this request's metrics (set once an endpoint is chosen). */
  get labels(): string {
    return this.#labels;
  }

  start(): void {
    const { plan, app } = this;
    plan.budget.deposit();
    if (plan.requestTimeoutMs > 0) this.#timer = setTimeout(timeOut, plan.requestTimeoutMs, this);
    app.onAbort(() => {
      if (this.cancelled) return;
      this.cancelled = true;
      clearTimeout(this.#timer);
      this.#connection?.destroy();
      this.#handle?.ewma.abandon();
    });
    if (!plan.retryable || plan.bodyLength === 0) {
      this.#attempt();
      return;
    }
    // Keep the (small) body so that a retry can send it again.
    const chunks: Buffer[] = [];
    app.readBody(
      (chunk) => chunks.push(chunk),
      () => {
        this.#body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        this.#attempt();
      },
    );
  }

  #attempt(): void {
    this.#attempts++;
    const { plan } = this;
    // Discovery has usually answered already: pick without waiting.
    const handle = this.#failed ? undefined : this.#context.client.pickNow(plan.backend, plan.group);
    if (handle) this.#use(handle);
    else void this.#pickThenUse();
  }

  async #pickThenUse(): Promise<void> {
    const { plan } = this;
    const client = this.#context.client;
    let handle: EndpointHandle | undefined;
    try {
      handle = this.#failed
        ? await client.pickAvoiding([plan.backend, plan.authority], this.#failed, plan.group)
        : await client.pick(plan.backend, plan.group);
    } catch (error) {
      // A split's backend without endpoints: the apex's endpoints are all the backends'.
      const noEndpoints = error instanceof ProxyError && error.code === 'E_NO_ENDPOINTS';
      handle =
        noEndpoints && plan.backend !== plan.authority
          ? await client.pickAvoiding([plan.authority], this.#failed ?? new Set()).catch(() => undefined)
          : undefined;
      if (!handle) {
        this.fail(503, error);
        return;
      }
    }
    this.#use(handle);
  }

  #use(handle: EndpointHandle): void {
    const { plan } = this;
    const client = this.#context.client;
    if (this.cancelled) return;
    this.#handle = handle;
    if (this.#attempts === 1) {
      this.#labels = handle.labels(plan.authority);
      client.metrics?.requestTotal.inc(this.#labels);
    }
    if (this.#context.upgraded(handle)) {
      const host = handle.endpoint.authorityOverride ?? this.app.absoluteHost;
      this.#context.forwardUpgraded(this, handle, host ?? this.app.host ?? plan.authority);
      return;
    }
    this.#context.poolFor(handle, plan.authority).request(this);
  }

  #markFailed(handle: EndpointHandle): void {
    this.#failed ??= new Set();
    this.#failed.add(handle.key);
  }

  onConnection(connection: Http1Connection): void {
    this.#connection = connection;
    const { app, plan } = this;
    const handle = this.#handle as EndpointHandle;
    // An absolute-form target wins over the Host header (RFC 9112 §3.2.2).
    const host = handle.endpoint.authorityOverride ?? app.absoluteHost;
    const head = app.upstreamHead(host);
    handle.ewma.start();
    this.#sentAt = performance.now();
    if (plan.retryable || (plan.bodyLength === 0 && !plan.transferEncoding)) {
      connection.send(head, this.#body);
      return;
    }
    // The body goes on as the application framed it (a chunked one with its chunks and trailers).
    connection.sendHead(head);
    app.readBody(
      (chunk) => {
        if (this.#connection === connection && !connection.writeBody(chunk)) {
          app.pauseBody();
          connection.onDrain(() => app.resumeBody());
        }
      },
      () => {
        if (this.#connection === connection) connection.endBody();
      },
    );
  }

  onResponseHead(head: UpstreamHead): void {
    const { plan, app } = this;
    const status = head.status;
    const handle = this.#handle as EndpointHandle;
    const connection = this.#connection as Http1Connection;
    const now = performance.now();
    if (
      plan.retryable &&
      shouldRetry(plan.route, status) &&
      this.#attempts <= this.#context.retryLimit &&
      plan.budget.withdraw()
    ) {
      handle.ewma.finish(now - this.#sentAt);
      handle.breaker.failure();
      this.#markFailed(handle);
      // The rest of this answer is not wanted: drop it with its connection.
      connection.destroy();
      this.#connection = undefined;
      this.#attempt();
      return;
    }
    clearTimeout(this.#timer);
    handle.ewma.finish(now - this.#sentAt);
    if (isFailureStatus(plan.route, status)) handle.breaker.failure();
    else handle.breaker.success();
    this.#context.client.metrics?.responseLatencyMs.observe(this.#labels, now - this.#started);
    this.#status = status;
    this.#grpcStatus = head.grpcStatus;
    app.forwardHead(head);
  }

  onResponseBody(chunk: Buffer, keep?: KeepRead): void {
    if (!this.app.write(chunk, keep) && !this.#waitingForDrain) {
      // The client reads slowly: stop reading the upstream until it catches up.
      this.#waitingForDrain = true;
      this.#connection?.pause();
      this.#resumeOnDrain ??= () => {
        this.#waitingForDrain = false;
        this.#connection?.resume();
      };
      this.app.onDrain(this.#resumeOnDrain);
    }
  }

  onResponseEnd(trailers: string[]): void {
    this.#connection = undefined;
    if (this.cancelled) return;
    this.cancelled = true;
    this.app.end(trailers);
    this.done(this.#status, this.#grpcStatus);
  }

  onExchangeError(error: unknown, sent: boolean): void {
    this.#connection = undefined;
    if (this.cancelled) return;
    const handle = this.#handle as EndpointHandle;
    handle.ewma.abandon();
    handle.breaker.failure();
    // A request that never got a connection sent nothing: any method may go again.
    if (
      (this.plan.retryable || !sent) &&
      this.#attempts <= this.#context.retryLimit &&
      !this.app.headersSent &&
      this.plan.budget.withdraw()
    ) {
      this.#markFailed(handle);
      this.#attempt();
      return;
    }
    this.fail(error instanceof ProxyError && error.code === 'E_CONNECT_TIMEOUT' ? 504 : 502, error);
  }

  /** The response went to the client in full: counts it and tells tap. */
  done(status: number, grpcStatus: string | undefined): void {
    this.cancelled = true;
    clearTimeout(this.#timer);
    const metrics = this.#context.client.metrics;
    if (metrics) {
      metrics.responseTotal.inc(
        responseLabels(this.#labels, status, classify(this.plan.route, status, grpcStatus)),
      );
    }
    this.#record(status, '');
  }

  /** Ends the request with the proxy's own answer (or a reset once the response started). */
  fail(status: number, error: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    clearTimeout(this.#timer);
    this.#connection?.destroy();
    this.#connection = undefined;
    this.#handle?.ewma.abandon();
    const { plan, app } = this;
    const client = this.#context.client;
    const described = describeError(error);
    client.log.info('outbound request failed', {
      authority: plan.authority,
      path: plan.path,
      status,
      error: described,
    });
    if (!this.#labels) {
      this.#labels = client.targetLabels(plan.backend, plan.authority);
      client.metrics?.requestTotal.inc(this.#labels);
    }
    client.metrics?.responseTotal.inc(`${this.#labels},status_code="${status}",classification="failure"`);
    this.#record(status, described);
    app.respondError(status, described);
  }

  #record(status: number, error: string): void {
    const tap = this.#context.tap;
    if (!tap?.active) return;
    const handle = this.#handle;
    tap.publish({
      direction: 'outbound',
      method: this.plan.method,
      authority: this.plan.authority,
      path: this.plan.path,
      status,
      latencyMs: performance.now() - this.#started,
      clientId: this.#context.client.credentials?.identity ?? '',
      serverId: handle?.endpoint.tlsIdentity ?? '',
      source: this.app.remoteAddress,
      destination: handle?.key ?? '',
      startedAtMs: this.#startedAtMs,
      error,
    });
  }
}

/** `response_total` label sets by request labels, then by status and classification: formatted once each. */
const responseLabelCache = new Map<string, Map<number, string>>();
const MAX_CACHED_LABEL_SETS = 1024;

function responseLabels(labels: string, status: number, classification: 'success' | 'failure'): string {
  let byStatus = responseLabelCache.get(labels);
  if (!byStatus) {
    if (responseLabelCache.size >= MAX_CACHED_LABEL_SETS) responseLabelCache.clear();
    byStatus = new Map();
    responseLabelCache.set(labels, byStatus);
  }
  const key = classification === 'failure' ? -status : status;
  let text = byStatus.get(key);
  if (text === undefined) {
    text = `${labels},status_code="${status}",classification="${classification}"`;
    byStatus.set(key, text);
  }
  return text;
}

function timeOut(request: ForwardedRequest): void {
  const route = request.plan.route;
  request.fail(
    504,
    new ProxyError(
      'E_REQUEST_TIMEOUT',
      `no response in ${request.plan.requestTimeoutMs} ms${route ? ` (route ${route.name})` : ''}`,
    ),
  );
}

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
