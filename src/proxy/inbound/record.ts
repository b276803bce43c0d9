import { classifyResponse, type ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { formatLabels } from '../metrics/registry.ts';
import type { TapHub } from '../tap/hub.ts';
import type { InboundCaller } from './client-id.ts';

/** One inbound request as it is counted and tapped. */
export interface InboundRequest {
  method: string;
  path: string;
  authority: string;
  /** `performance.now()` when the request arrived. */
  started: number;
  startedAtMs: number;
  /** Metric labels: the connection's plus the request's authority. */
  labels: string;
}

/**
 * Counts inbound requests (`request_total`, `response_total`,
 * `response_latency_ms`, direction="inbound") and sends them to tap.
 */
export class InboundRecorder {
  readonly #appHost: string;
  readonly #metrics: ProxyMetrics | undefined;
  readonly #tap: TapHub | undefined;

  constructor(options: { appHost: string; metrics?: ProxyMetrics; tap?: TapHub }) {
    this.#appHost = options.appHost;
    this.#metrics = options.metrics;
    this.#tap = options.tap;
  }

  /** Records the start of a request and returns what its end needs. */
  start(caller: InboundCaller, method: string, path: string, authority: string): InboundRequest {
    // Requests on one connection nearly always name one authority: format its labels once.
    let cached = caller.requestLabels;
    if (cached?.authority !== authority) {
      const labels = authority ? `${caller.labels},${formatLabels({ authority })}` : caller.labels;
      cached = caller.requestLabels = { authority, labels };
    }
    const labels = cached.labels;
    this.#metrics?.requestTotal.inc(labels);
    return { method, path, authority, started: performance.now(), startedAtMs: Date.now(), labels };
  }

  /** The response headers went out (latency is measured to here). */
  responded(request: InboundRequest): void {
    this.#metrics?.responseLatencyMs.observe(request.labels, performance.now() - request.started);
  }

  /** The response is complete, or the request failed (`error` says why). */
  done(
    caller: InboundCaller,
    request: InboundRequest,
    status: number,
    grpcStatus: string | undefined,
    error: string,
  ): void {
    const classification = error ? 'failure' : classifyResponse(status, grpcStatus);
    // Responses on one connection nearly always repeat: format their labels once.
    let cached = caller.responseLabels;
    if (
      cached?.labels !== request.labels ||
      cached.status !== status ||
      cached.classification !== classification
    ) {
      const text = `${request.labels},status_code="${status}",classification="${classification}"`;
      cached = caller.responseLabels = { labels: request.labels, status, classification, text };
    }
    this.#metrics?.responseTotal.inc(cached.text);
    if (!this.#tap?.active) return;
    this.#tap.publish({
      direction: 'inbound',
      method: request.method,
      authority: request.authority,
      path: request.path,
      status,
      latencyMs: performance.now() - request.started,
      clientId: caller.clientId,
      serverId: caller.serverId,
      source: caller.source,
      destination: `${this.#appHost}:${caller.port}`,
      startedAtMs: request.startedAtMs,
      error,
    });
  }
}
